"""The kept first pages: bounded, never served past a change or a due time, and served without
reading the store only for a second after it was read."""

from __future__ import annotations

import pytest

from backend.auth.tokens import Principal
from backend.todos import pages as pages_module
from backend.todos.pages import FirstPages

NOW = "2026-11-02T01:00:00.000000Z"
LATER = "2026-11-02T02:00:00.000000Z"


def test_the_least_recently_used_page_goes_first_when_full() -> None:
    pages = FirstPages(size=2)
    keys = [FirstPages.key({f"user:{n}": None}, None, 20) for n in range(3)]
    for n, key in enumerate(keys[:2]):
        pages.put(key, {f"user:{n}": 0}, {"n": n}, [], NOW)
    assert pages.get(keys[0], {"user:0": 0}, NOW) == {"n": 0}  # now the most recent
    pages.put(keys[2], {"user:2": 0}, {"n": 2}, [], NOW)
    assert pages.get(keys[1], {"user:1": 0}, NOW) is None
    assert pages.get(keys[0], {"user:0": 0}, NOW) == {"n": 0} and pages.get(keys[2], {"user:2": 0}, NOW) == {"n": 2}


def test_a_page_is_dropped_when_a_generation_moves_or_a_due_time_on_it_passes() -> None:
    pages = FirstPages()
    key = FirstPages.key({"user:1": None, "department:qd-housing": None}, None, 20)
    built = {"user:1": 3, "department:qd-housing": 7}
    pages.put(key, built, {"items": []}, [{"due_at": LATER}, {"due_at": None}], NOW)
    assert pages.get(key, {**built, "department:qd-housing": 8}, NOW) is None
    pages.put(key, built, {"items": []}, [{"due_at": LATER}], NOW)
    assert pages.get(key, built, LATER) == {"items": []}  # due exactly now: not yet overdue
    assert pages.get(key, built, "2026-11-02T02:00:00.000001Z") is None


def test_a_persons_page_is_served_unread_only_briefly_and_until_this_process_changes_something(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(pages_module.time, "monotonic", lambda: clock[0])
    pages = FirstPages(recheck_seconds=1.0)
    person = Principal(user_id="u1", audience="staff", roles=("staff",), department="qd-housing", family="f",
                       jti="j", issued_at=0.0, expires_at=0.0)
    actor, key = FirstPages.actor(person, None, 20), FirstPages.key({"user:u1": None}, None, 20)
    assert pages.recent(actor, NOW) is None  # never checked
    pages.put(key, {"user:u1": 0}, {"n": 1}, [{"due_at": LATER}], NOW)
    pages.checked(actor, key, pages.changes, clock[0])
    clock[0] += 0.9
    assert pages.recent(actor, NOW) == {"n": 1}
    assert pages.recent(FirstPages.actor(person, "mailbox", 20), NOW) is None  # another filter
    assert pages.recent(actor, "2026-11-02T02:00:00.000001Z") is None  # a due time on it passed
    pages.checked(actor, key, pages.changes, clock[0])
    clock[0] += 1.0
    assert pages.recent(actor, NOW) is None  # read a second ago: read again
    pages.checked(actor, key, pages.changes, clock[0])
    pages.changed()
    assert pages.recent(actor, NOW) is None  # this process changed rows or delegations
    stale = pages.changes - 1
    pages.checked(actor, key, stale, clock[0])  # checked by reads that began before the change
    assert pages.recent(actor, NOW) is None
