"""Reads of the to-do projection: a person's list across modules, and counts per module."""

from __future__ import annotations

import time
from typing import Any, Mapping

from backend.auth.tokens import Principal
from backend.cases.delegation import delegators_of
from backend.clock import to_api, to_storage
from backend.context import Context
from backend.events import Recipient
from backend.store.pagination import paginate_union
from backend.todos.counts import counts_by_key, total
from backend.todos.pages import FirstPages, first_pages
from backend.todos.projection import TODOS

SORT = [("sort_due", 1)]


async def actor_keys(ctx: Context, actor: Principal) -> dict[str, str | None]:
    """Every key the actor acts under → whom they act for there (None: themselves). A staff
    member acts as themselves, their department, each role, and everyone who delegated to them."""
    keys: dict[str, str | None] = {Recipient.user(actor.user_id).key: None}
    if actor.audience == "staff":
        if actor.department:
            keys[Recipient.department(actor.department).key] = None
        for role in actor.roles:
            keys[Recipient.role(role).key] = None
        for delegator in await delegators_of(ctx.store, actor.user_id, ctx.clock.now()):
            keys.setdefault(Recipient.user(delegator).key, delegator)
    return keys


def todo_out(row: dict[str, Any], on_behalf_of: str | None, now_stored: str, labels: Mapping[str, str]) -> dict[str, Any]:
    due = row.get("due_at")
    return {"id": row["_id"], "module": row["module"], "module_label": labels.get(row["module"], row["module"]),
            "subject": row["subject"], "title": row["title"], "label": row["label"], "kind": row.get("kind"),
            "state": row["state"],
            "due_at": to_api(due), "overdue": bool(due and due < now_stored), "on_behalf_of": on_behalf_of,
            "updated_at": to_api(row.get("updated_at"))}


async def list_todos(ctx: Context, actor: Principal, *, labels: Mapping[str, str], limit: int, cursor: str | None,
                     module: str | None = None) -> dict[str, Any]:
    """Sorted by due date (none last), one cursor across modules; counts per module on the
    first page (for the app's badge). Only the keys with open to-dos are paged; a first page is
    built again only when something on it may have changed (``backend/todos/pages.py``)."""
    now = to_storage(ctx.clock.now())
    pages, by_actor = first_pages(ctx.store), FirstPages.actor(actor, module, limit)
    if cursor is None and (recent := pages.recent(by_actor, now)) is not None:
        return recent
    changes, reading_from = pages.changes, time.monotonic()
    keys = await actor_keys(ctx, actor)
    by_key = await counts_by_key(ctx.store, TODOS, keys)
    page_key = FirstPages.key(keys, module, limit)
    generations = {key: counted.generation for key, counted in by_key.items()}
    if cursor is None and (kept := pages.get(page_key, generations, now)) is not None:
        pages.checked(by_actor, page_key, changes, reading_from)
        return kept
    live = [key for key in keys if any(module in (None, name) for name, _kind in by_key[key].counts)]
    extra = {"module": module} if module else {}
    rows, next_cursor = await paginate_union(ctx.store.collection(TODOS), [{"actor": key, **extra} for key in live],
                                             sort=SORT, limit=limit, cursor=cursor)
    out: dict[str, Any] = {"items": [todo_out(row, keys.get(row["actor"]), now, labels) for row in rows],
                           "next_cursor": next_cursor}
    if cursor is None:
        modules: dict[str, int] = {}
        kinds: dict[str, int] = {}
        for (module_name, kind), count in total(counted.counts for counted in by_key.values()).items():
            modules[module_name] = modules.get(module_name, 0) + count
            kinds[kind] = kinds.get(kind, 0) + count
        out.update(counts=modules, kinds=kinds, total=sum(modules.values()))
        pages.put(page_key, generations, out, rows, now)
        pages.checked(by_actor, page_key, changes, reading_from)
    return out
