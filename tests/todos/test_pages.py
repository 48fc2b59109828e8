"""The kept first pages: bounded, and never served past a change or a due time."""

from __future__ import annotations

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
