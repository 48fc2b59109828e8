"""The one warning job (电子监察) over every registered workflow.

Each run finds the running, unpaused clocks due within the widest warning horizon of their
workflow, and for each whose level got worse (normal → yellow → red → overdue) records the new
level and emits the workflow's warning event — once per level, without bumping ``version``.
"""

from __future__ import annotations

from typing import Iterable

from backend.cases.deadline import LEVELS
from backend.cases.engine import mark_level
from backend.cases.workflow import Workflow
from backend.context import Context

BATCH = 500


async def warn_due_cases(ctx: Context, workflows: Iterable[Workflow]) -> int:
    """Returns how many warnings were emitted."""
    now = ctx.clock.now()
    emitted = 0
    for workflow in workflows:
        if not workflow.policies:
            continue
        horizon = max(policy.horizon(now) for policy in workflow.policies)
        candidates = await ctx.store.collection(workflow.collection).find(
            {"deadline.running": True, "deadline.paused_at": None, "deadline.due_at": {"$lte": horizon},
             "deadline.level": {"$ne": "overdue"}}, sort=[("deadline.due_at", 1)], limit=BATCH)
        for doc in candidates:
            deadline = doc["deadline"]
            policy = workflow.policy(deadline.get("policy"))
            if policy is None:
                continue
            level = policy.level(deadline["due_at"], now)
            if LEVELS.index(level) > LEVELS.index(deadline.get("level") or "normal"):
                emitted += await mark_level(ctx, workflow, doc, level)
    return emitted
