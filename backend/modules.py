"""Each module's start-up: indexes, outbox collections, sealed fields, periodic jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.attachments import use_cases as attachments
from backend.identity import use_cases as identity
from backend.jobs import run_every
from backend.mailbox import queries as mailbox_queries
from backend.mailbox import use_cases as mailbox
from backend.personal_data import reseal_on_start

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

OUTBOX_COLLECTIONS = [mailbox_queries.LETTERS]
# Every field holding sealed personal data (backend/personal_data/): indexed, and re-sealed at start.
SEALED_FIELDS = [*identity.SEALED_FIELDS]


async def register_modules(ctx: "AppContext") -> None:
    await identity.create_indexes(ctx)
    await attachments.create_indexes(ctx)
    await mailbox_queries.create_indexes(ctx)
    for name in OUTBOX_COLLECTIONS:
        ctx.relay.register(name)
    await reseal_on_start(ctx.store, ctx.personal_data, SEALED_FIELDS)


def start_periodic_jobs(ctx: "AppContext") -> None:
    ctx.spawn(run_every(60, lambda: mailbox.do_warn_due_letters(ctx), "letter-warnings"), name="letter-warnings")
