"""Checks both engines apply to update documents, so code that works on one works on the other."""

from __future__ import annotations

from typing import Any

UPDATE_OPERATORS = frozenset({"$set", "$unset", "$inc", "$push", "$addToSet", "$pull"})


def check_update(update: Any) -> None:
    if not isinstance(update, dict) or not update:
        raise ValueError("an update is a non-empty dict of operators")
    for op, spec in update.items():
        if op not in UPDATE_OPERATORS:
            raise ValueError(f"unsupported update operator {op!r}")
        if not isinstance(spec, dict) or not spec:
            raise ValueError(f"{op} takes a non-empty dict of fields")
        if any(path == "_id" or path.startswith("_id.") for path in spec):
            raise ValueError("_id cannot be updated")
