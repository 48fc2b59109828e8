"""Notice distribution benchmark (a script, not a test): one notice to 80 departments and 2,000
people on the embedded store.

    python bench/office_notices.py [--departments 80] [--people 2000] [--rounds 3]

For each round a new notice of one issuing department is addressed to every department (each
of its staff a recipient) and published through the use case (``do_publish_notice``): the
audience expanded to people, one receipt per person written in one bulk insert, and the notice's
own writes. Printed per round and as the median:

- **publish**: wall time of the use case, and its store writes per recipient, counted two ways:
  write calls on the store's collections (an ``insert_many`` of 2,000 receipts is one call and
  2,000 documents), and rows changed according to SQLite's ``total_changes``;
- **to-dos**: the time from the end of publishing until every recipient's receipt to-do
  (阅读通知) is in the to-do projection, with the outbox relay and the projection run in this
  process back to back (as the serving process's background tasks would, without their wake-up
  delays), and the writes that costs per recipient;
- the issuing department's reads afterwards: the per-department read counts (one grouped
  count over the receipts) and the first page of who has not read; and a reminder naming all
  2,000 (one event).

These are absolute times on this machine, not request rates: publishing is one request whose
cost grows with its audience, so there is no bare-Tornado request to set it against (the
ratios of ``bench/run.py`` do not apply). Compare runs on the same machine only. Everything runs
on 127.0.0.1: the embedded redis-server and the SQLite file in a temporary data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WRITES = ("insert_one", "insert_many", "update_one", "update_many", "find_one_and_update", "delete_one", "delete_many")


class WriteCounter:
    """Counts write calls (and documents inserted) on every collection of the SQLite store."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.documents = 0

    def install(self, collection_class: type) -> None:
        for name in WRITES:
            original = getattr(collection_class, name)
            setattr(collection_class, name, self._counting(name, original))

    def _counting(self, name: str, original: Any) -> Any:
        counter = self

        async def counted(collection: Any, *args: Any, **kwargs: Any) -> Any:
            counter.calls[collection.name] += 1
            if name == "insert_many":
                counter.documents += len(args[0]) if args else 0
            return await original(collection, *args, **kwargs)

        return counted

    def total(self) -> int:
        return sum(self.calls.values())


async def changes(store: Any) -> int:
    return await store.run(lambda conn: conn.total_changes)


async def seed_city(ctx: Any, departments: int, people: int) -> tuple[Any, list[str]]:
    """``departments`` departments with ``people`` staff between them, and the issuing office
    with its author."""
    from backend.auth.tokens import Principal
    from backend.clock import now_stored
    from backend.identity.schemas import DepartmentIn, DepartmentKind
    from backend.identity.use_cases import SYSTEM, do_create_department
    from backend.ids import new_id

    await do_create_department(ctx, DepartmentIn(code="qd", name="青岛市", kind=DepartmentKind.CITY), acting_user=SYSTEM)
    codes = ["qd-office", *(f"qd-d{index:03d}" for index in range(departments))]
    for code in codes:
        await do_create_department(ctx, DepartmentIn(code=code, name=f"测试单位{code[-3:]}", kind=DepartmentKind.DEPARTMENT,
                                                     parent="qd"), acting_user=SYSTEM)
    now = now_stored()
    author_id = new_id()
    users = [{"_id": author_id, "kind": "staff", "username": "bench-author", "name": "办公室文书", "roles": ["staff"],
              "department": "qd-office", "disabled": False, "version": 1, "created_at": now, "updated_at": now}]
    for index in range(people):
        users.append({"_id": new_id(), "kind": "staff", "username": f"bench-{index:05d}", "name": f"工作人员{index}",
                      "roles": ["staff"], "department": codes[1 + index % departments], "disabled": False,
                      "version": 1, "created_at": now, "updated_at": now})
    await ctx.store.collection("users").insert_many(users)
    author = Principal(user_id=author_id, audience="staff", roles=("staff",), department="qd-office", family="",
                       jti="", issued_at=0.0, expires_at=float("inf"))
    return author, codes[1:]


async def project_until(ctx: Any, notice_id: str, expected: int, last_id: bytes) -> tuple[float, bytes]:
    """Relay and project until every receipt of the notice has its to-do row."""
    from backend.events import EVENT_STREAM
    from backend.todos.projection import TODOS, project_entries

    todos = ctx.store.collection(TODOS)
    # The notice's receipts' rows: their case keys are "office_notice_receipts:<notice_id>-<user_id>".
    prefix = f"office_notice_receipts:{notice_id}-"
    rows = {"module": "office", "kind": "read", "case": {"$gt": prefix, "$lt": prefix[:-1] + "."}}
    started = time.perf_counter()
    while True:
        await ctx.relay.relay_once()
        while True:
            batch = await ctx.redis.xread({EVENT_STREAM: last_id}, count=500)
            if not batch:
                break
            entries = batch[0][1]
            await project_entries(ctx, entries)
            last_id = entries[-1][0]
        if await todos.count(rows) >= expected:
            return time.perf_counter() - started, last_id


async def run(departments: int, people: int, rounds: int, data_dir: Path) -> list[dict[str, Any]]:
    from backend.bootstrap import bootstrap
    from backend.config import load_settings
    from backend.office.notices import queries
    from backend.office.notices.schemas import NoticeIn, NoticeReminderIn
    from backend.office.notices.use_cases import do_create_notice, do_publish_notice, do_remind_notice
    from backend.store.sqlite import SQLiteCollection

    settings = load_settings({"YZT_DATA_DIR": str(data_dir), "YZT_LOG_LEVEL": "warning"})
    results = []
    async with bootstrap(settings, background=False) as ctx:
        author, codes = await seed_city(ctx, departments, people)
        counter = WriteCounter()
        counter.install(SQLiteCollection)
        last_id = b"0-0"
        for round_ in range(rounds):
            data = NoticeIn.model_validate({
                "title": f"关于开展安全生产大检查的通知（第{round_ + 1}次）", "body": "请各单位按要求开展自查并报送情况。",
                "audience": {"departments": codes}}, strict=False)
            draft = await do_create_notice(ctx, data, acting_user=author, notice_id=f"{round_ + 1:020x}")
            await ctx.relay.relay_once()

            calls, documents, rows = counter.total(), counter.documents, await changes(ctx.store)
            started = time.perf_counter()
            published = await do_publish_notice(ctx, draft["id"], acting_user=author, expected_version=None)
            publish_s = time.perf_counter() - started
            recipients = published["recipient_count"]
            publish = {"calls": counter.total() - calls, "documents": counter.documents - documents,
                       "rows": await changes(ctx.store) - rows}

            calls, rows = counter.total(), await changes(ctx.store)
            todos_s, last_id = await project_until(ctx, draft["id"], recipients, last_id)
            todo = {"calls": counter.total() - calls, "rows": await changes(ctx.store) - rows}

            doc = await ctx.store.collection("office_notices").find_one({"_id": draft["id"]})
            started = time.perf_counter()
            summary = await queries.receipt_counts(ctx, doc)
            summary_s = time.perf_counter() - started
            started = time.perf_counter()
            page = await queries.list_receipts(ctx, doc, read=False, department=None, limit=20, cursor=None)
            page_s = time.perf_counter() - started
            started = time.perf_counter()
            reminded = await do_remind_notice(ctx, draft["id"], NoticeReminderIn(), acting_user=author)
            remind_s = time.perf_counter() - started
            assert summary["unread"] == recipients and len(page["items"]) == 20 and reminded["reminded"] == recipients
            await ctx.relay.relay_once()
            results.append({"recipients": recipients, "departments": len(summary["departments"]),
                            "publish_s": publish_s, "publish": publish, "todos_s": todos_s, "todos": todo,
                            "summary_ms": summary_s * 1000, "page_ms": page_s * 1000, "remind_ms": remind_s * 1000})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--departments", type=int, default=80)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import logging
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="yzt-notices-bench-"))
    try:
        results = asyncio.run(run(args.departments, args.people, args.rounds, workdir / "data"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"notice distribution: {args.people:,} people in {args.departments} departments, embedded SQLite store, "
          f"Python {sys.version.split()[0]}")
    for index, r in enumerate(results, 1):
        n = r["recipients"]
        print(f"  round {index}: {n:,} receipts in {r['departments']} departments | "
              f"publish {r['publish_s'] * 1000:7.1f} ms, "
              f"{r['publish']['calls']} write calls ({r['publish']['calls'] / n:.4f}/recipient), "
              f"{r['publish']['rows'] / n:.3f} rows/recipient | all to-dos projected after {r['todos_s']:5.2f} s, "
              f"{r['todos']['calls'] / n:.2f} write calls and {r['todos']['rows'] / n:.2f} rows/recipient | "
              f"read counts {r['summary_ms']:.1f} ms, unread page {r['page_ms']:.1f} ms, "
              f"reminder {r['remind_ms']:.1f} ms")
    n = results[-1]["recipients"]
    print(f"  median: publish {statistics.median(r['publish_s'] for r in results) * 1000:.1f} ms "
          f"({statistics.median(r['publish']['rows'] for r in results) / n:.3f} store rows written per recipient, "
          f"{statistics.median(r['publish']['calls'] for r in results)} write calls in all); "
          f"every to-do projected {statistics.median(r['todos_s'] for r in results):.2f} s after "
          f"({statistics.median(r['todos']['rows'] for r in results) / n:.2f} rows per recipient "
          f"for relay and projection)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
