"""The office's part of the test kit, from its parts' kits (documents, notices, tasks): each makes
sample objects in 市住建局 (qd-housing), which 生态环境局 (qd-env) must not see."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit
from tests.office import kit_documents, kit_notices, kit_tasks

PARTS = (kit_documents, kit_notices, kit_tasks)


async def make(harness: Any, citizen: Any) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in PARTS:
        made = await part.make(harness)
        assert all(values.get(name, value) == value for name, value in made.items()), "parts disagree on a parameter"
        values.update(made)
    return values


KIT = Kit(make=make, foreign="env", bodies={name: body for part in PARTS for name, body in part.BODIES.items()},
          object_params=frozenset().union(*(part.OBJECT_PARAMS for part in PARTS)))
