"""Reads of supervision tasks for staff: one task, a department's list, and the supervision board
(督查督办看板) of a leader or supervisor. Every read of one task goes through
``access_task_for_staff``: the same 404 whether the task is missing or not the caller's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.attachments.queries import held_file, with_links
from backend.auth.permissions import Role
from backend.auth.tokens import Principal
from backend.cases.assignment import units
from backend.cases.deadline import display_level
from backend.cases.delegation import delegators_of
from backend.cases.engine import available_actions
from backend.clock import CHINA, to_api, to_storage
from backend.context import Context
from backend.identity.queries import subtree_codes
from backend.office.tasks.errors import TaskNotFound
from backend.office.tasks.schemas import SOURCE_LABELS, STATE_LABELS, TaskScope, TaskSourceKind, TaskState
from backend.office.tasks.workflow import HANDLING_CLOCK, TASK_WORKFLOW, TASKS
from backend.store.interface import Document
from backend.store.pagination import paginate

# What a list item reads (no requirement text, reports or history).
SUMMARY_FIELDS = ["title", "state", "assignment", "supervising_office", "department_names", "leader", "supervisor",
                  "people", "deadline", "reporting", "milestones", "created_at", "version"]
# Where staff download a task's files (the route of handlers/office/tasks.py).
TASK_FILES = "/api/v1/office/tasks/{id}/files"
BOARD_LEVELS = ("normal", "yellow", "red", "overdue", "paused")
BOARD_MAX = 1000  # open tasks counted on one board (a leader has tens, not thousands)


def _times(record: dict[str, Any] | None, *names: str) -> dict[str, Any] | None:
    if record is None:
        return None
    return {**record, **{name: to_api(record.get(name)) for name in names if name in record}}


def level_of(doc: Document, now: datetime) -> str | None:
    """yellow / red / overdue / paused / normal from the kernel's clock; None once it stopped."""
    return display_level(doc.get("deadline"), HANDLING_CLOCK, now)


def _milestone_out(item: dict[str, Any], today: str) -> dict[str, Any]:
    done = item.get("done_at") is not None
    return {"id": item["id"], "name": item["name"], "due_on": item["due_on"], "done": done,
            "done_at": to_api(item.get("done_at")), "done_by": item.get("done_by"),
            "overdue": not done and item["due_on"] < today}


def task_summary(doc: Document, now: datetime) -> dict[str, Any]:
    deadline = doc.get("deadline") or {}
    reporting = doc.get("reporting") or {}
    names = doc.get("department_names") or {}
    lead = doc["assignment"]["lead"]
    open_ = doc["state"] == TaskState.IN_PROGRESS
    next_due = reporting.get("next_due_at") if open_ else None
    today = now.astimezone(CHINA).date().isoformat()
    return {
        "id": doc["_id"], "title": doc["title"], "state": doc["state"],
        "state_label": STATE_LABELS[TaskState(doc["state"])],
        "lead_department": lead, "lead_department_name": names.get(lead),
        "co_departments": doc["assignment"]["co"],
        "supervising_office": doc["supervising_office"],
        "supervising_office_name": names.get(doc["supervising_office"]),
        "leader": doc.get("leader"), "supervisor": doc["supervisor"],
        "due_at": to_api(deadline.get("due_at")), "level": level_of(doc, now),
        "extended_days": sum(item["days"] for item in deadline.get("extensions", [])),
        "met": deadline.get("met"),
        "report_every_days": reporting.get("period_days"),
        "next_report_due_at": to_api(next_due), "report_overdue": bool(next_due and next_due < to_storage(now)),
        "milestones": [_milestone_out(item, today) for item in doc.get("milestones", [])],
        "created_at": to_api(doc["created_at"]), "version": doc["version"],
    }


def task_file(doc: Document, file_id: str) -> dict[str, Any]:
    """A file of a task the caller may see (``access_task_for_staff``): the progress reports'
    attachments and the completion report's; else ``TaskNotFound``."""
    return held_file([*(record for report in doc.get("reports", []) for record in report.get("attachments", [])),
                      *(doc.get("completion") or {}).get("attachments", [])], file_id, TaskNotFound)


def _with_files(record: dict[str, Any] | None, files_path: str) -> dict[str, Any] | None:
    """A report or the completion, its time in API form and its attachments with their links."""
    if record is None:
        return None
    return {**_times(record, "at"), "attachments": with_links(record.get("attachments", []), files_path)}


def _source_out(source: dict[str, Any]) -> dict[str, Any]:
    return {**source, "kind_label": SOURCE_LABELS[TaskSourceKind(source["kind"])]}


async def task_for_staff(ctx: Context, doc: Document, *, viewer: Principal) -> dict[str, Any]:
    now = ctx.clock.now()
    names = doc.get("department_names") or {}
    assignment = doc["assignment"]
    deadline = doc.get("deadline") or {}
    files = TASK_FILES.format(id=doc["_id"])
    return {
        **task_summary(doc, now),
        "requirement": doc["requirement"], "source": _source_out(doc["source"]),
        "department_names": names, "deadline_days": doc["deadline_days"],
        "co_opinions": [_times(item, "at") for item in assignment.get("opinions", [])],
        "reports": [_with_files(item, files) for item in doc.get("reports", [])],
        "last_report_at": to_api((doc.get("reporting") or {}).get("last_at")),
        "extension": _times(doc.get("extension"), "requested_at", "decided_at"),
        "completion": _with_files(doc.get("completion"), files),
        "send_backs": [_times(item, "at") for item in doc.get("send_backs", [])],
        "deadline": {**(_times(deadline, "started_at", "due_at", "paused_at", "stopped_at") or {}),
                     "extensions": [_times(item, "at") for item in deadline.get("extensions", [])]},
        "todo": doc.get("todo", []),
        "history": [{**entry, "at": to_api(entry["at"])} for entry in doc["history"]],
        "actions": await available_actions(ctx, TASK_WORKFLOW, doc, viewer),
    }


# --- access ------------------------------------------------------------------------------

async def _may_see(ctx: Context, actor: Principal, doc: Document) -> bool:
    """The leader, the supervisor, staff of the lead unit, a co-unit or the supervising office
    (a department admin: anywhere in its subtree), and the deputy of the leader or supervisor
    while a delegation runs."""
    people = doc.get("people", [])
    if actor.user_id in people:
        return True
    departments = {*units(doc), doc["supervising_office"]}
    if actor.department in departments:
        return True
    if Role.DEPARTMENT_ADMIN in actor.roles and actor.department:
        if departments & set(await subtree_codes(ctx.store, actor.department)):
            return True
    return bool(set(await delegators_of(ctx.store, actor.user_id, ctx.clock.now())) & set(people))


async def access_task_for_staff(ctx: Context, actor: Principal, task_id: str) -> Document:
    doc = await ctx.store.collection(TASKS).find_one({"_id": task_id})
    if doc is None or not await _may_see(ctx, actor, doc):
        raise TaskNotFound()
    return doc


# --- lists -------------------------------------------------------------------------------

_SCOPE_FIELD = {"lead": "assignment.lead", "co": "assignment.co", "office": "supervising_office"}


async def list_department_tasks(ctx: Context, actor: Principal, *, scope: TaskScope, states: list[str],
                                limit: int, cursor: str | None) -> dict[str, Any]:
    """The tasks the caller's department leads, co-handles or supervises (a department admin:
    its subtree's), newest first."""
    if actor.department is None:
        return {"items": [], "next_cursor": None}
    codes = (await subtree_codes(ctx.store, actor.department) if Role.DEPARTMENT_ADMIN in actor.roles
             else [actor.department])
    filter_: dict[str, Any] = {_SCOPE_FIELD[scope]: codes[0] if len(codes) == 1 else {"$in": codes}}
    if states:
        filter_["state"] = states[0] if len(states) == 1 else {"$in": states}
    docs, next_cursor = await paginate(ctx.store.collection(TASKS), filter_, sort=[("_id", -1)], limit=limit,
                                       cursor=cursor, projection=SUMMARY_FIELDS)
    now = ctx.clock.now()
    return {"items": [task_summary(doc, now) for doc in docs], "next_cursor": next_cursor}


async def board_for(ctx: Context, actor: Principal, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """The supervision board (督查督办看板): the open tasks the caller gave as leader or
    supervises, and those of whoever delegated to them now, soonest due first; on the first
    page, counts per level (normal / yellow / red / overdue / paused) and of the tasks done."""
    people = [actor.user_id, *await delegators_of(ctx.store, actor.user_id, ctx.clock.now())]
    whose: dict[str, Any] = {"people": people[0] if len(people) == 1 else {"$in": people}}
    open_filter = {**whose, "state": {"$ne": TaskState.DONE.value}}
    tasks = ctx.store.collection(TASKS)
    docs, next_cursor = await paginate(tasks, open_filter, sort=[("deadline.due_at", 1)], limit=limit,
                                       cursor=cursor, projection=SUMMARY_FIELDS)
    now = ctx.clock.now()
    out: dict[str, Any] = {"items": [_board_item(doc, now, actor.user_id, people) for doc in docs],
                           "next_cursor": next_cursor}
    if cursor is None:
        counts = dict.fromkeys(BOARD_LEVELS, 0)
        for doc in await tasks.find(open_filter, projection=["deadline"], limit=BOARD_MAX):
            counts[level_of(doc, now) or "normal"] += 1
        counts["done"] = await tasks.count({**whose, "state": TaskState.DONE.value})
        out.update(counts=counts, total=sum(counts.values()))
    return out


def _board_item(doc: Document, now: datetime, me: str, people: list[str]) -> dict[str, Any]:
    item = task_summary(doc, now)
    person = next((p for p in people if p in doc.get("people", [])), me)
    item["as"] = [name for name, holder in (("leader", doc.get("leader")), ("supervisor", doc["supervisor"]))
                  if holder and holder["user_id"] == person]
    item["on_behalf_of"] = None if person == me else person
    return item
