"""Documents in Python: the filter language evaluated on a dict, and update documents applied to one.

The SQLite engine applies updates this way inside its write transaction; the case kernel uses the
same functions to preview a transition's result (who holds the case afterwards) before writing it.
Semantics follow MongoDB's as the store contract states (``backend/store/interface.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.store.interface import Document, Filter, Update

_MISSING = object()

def same(a: Any, b: Any) -> bool:
    """MongoDB equality: booleans are not numbers, 1 == 1.0, lists and documents compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _values(node: Any, segments: list[str]) -> list[Any]:
    """Values at a dotted path, fanning out over lists of documents (``_MISSING`` if none)."""
    if not segments:
        return [node]
    if isinstance(node, dict):
        return _values(node[segments[0]], segments[1:]) if segments[0] in node else [_MISSING]
    if isinstance(node, list):
        found = [v for item in node if isinstance(item, dict) for v in _values(item, segments)]
        return found or [_MISSING]
    return [_MISSING]


def _ordered(a: Any, b: Any) -> bool:
    numbers = (int, float)
    return (isinstance(a, str) and isinstance(b, str)) or (
        isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool))


_PY_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b, "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b,
}


def _field_matches(doc: Document, path: str, cond: Any) -> bool:
    values = _values(doc, path.split("."))
    flat = values + [item for v in values if isinstance(v, list) for item in v]

    def eq(target: Any) -> bool:
        return any(same(v, target) or (target is None and v is _MISSING) for v in flat)

    if not isinstance(cond, dict):
        return eq(cond)
    for op, arg in cond.items():
        if op == "$in":
            ok = any(eq(t) for t in arg)
        elif op == "$nin":
            ok = not any(eq(t) for t in arg)
        elif op == "$ne":
            ok = not eq(arg)
        elif op == "$exists":
            ok = any(v is not _MISSING for v in values) == arg
        elif op in _PY_RANGE:
            ok = any(_ordered(v, arg) and _PY_RANGE[op](v, arg) for v in flat)
        else:
            raise ValueError(f"unsupported filter operator {op!r}")
        if not ok:
            return False
    return True


def matches(doc: Document, flt: Filter) -> bool:
    """The filter language evaluated in Python (for ``$pull`` conditions on list elements)."""
    for key, cond in flt.items():
        if key == "$and":
            ok = all(matches(doc, sub) for sub in cond)
        elif key == "$or":
            ok = any(matches(doc, sub) for sub in cond)
        elif key.startswith("$"):
            raise ValueError(f"unsupported filter operator {key!r}")
        else:
            ok = _field_matches(doc, key, cond)
        if not ok:
            return False
    return True


def _pull_test(cond: Any) -> Callable[[Any], bool]:
    if isinstance(cond, dict) and cond and all(k.startswith("$") and k not in ("$and", "$or") for k in cond):
        return lambda item: _field_matches({"v": item}, "v", cond)
    if isinstance(cond, dict):
        return lambda item: isinstance(item, dict) and matches(item, cond)
    return lambda item: same(item, cond)


def _parent(doc: Document, path: str) -> tuple[dict[str, Any], str]:
    """The document holding the last part of ``path``, creating missing levels."""
    segments = path.split(".")
    node = doc
    for segment in segments[:-1]:
        child = node.get(segment)
        if child is None:
            child = node[segment] = {}
        elif not isinstance(child, dict):
            raise ValueError(f"cannot update {path!r}: {segment!r} is not a document")
        node = child
    return node, segments[-1]


def _current(doc: Document, path: str) -> Any:
    """The value at ``path`` (None if absent), without creating anything."""
    node: Any = doc
    for segment in path.split("."):
        node = node.get(segment) if isinstance(node, dict) else None
    return node


def _list_at(doc: Document, path: str, op: str) -> list[Any]:
    parent, key = _parent(doc, path)
    current = parent.setdefault(key, [])
    if not isinstance(current, list):
        raise ValueError(f"{op} needs a list at {path!r}")
    return current


def _each(value: Any) -> list[Any]:
    if isinstance(value, dict) and "$each" in value:
        return list(value["$each"])
    return [value]


def apply_update(doc: Document, update: Update) -> None:
    for op, spec in update.items():
        for path, value in spec.items():
            if op == "$set":
                parent, key = _parent(doc, path)
                parent[key] = value
            elif op == "$unset":
                head, _, key = path.rpartition(".")
                parent = _current(doc, head) if head else doc
                if isinstance(parent, dict):
                    parent.pop(key, None)
            elif op == "$inc":
                parent, key = _parent(doc, path)
                current = parent.get(key, 0)
                if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (current, value)):
                    raise ValueError(f"$inc needs numbers at {path!r}")
                parent[key] = current + value
            elif op == "$push":
                _list_at(doc, path, op).extend(_each(value))
            elif op == "$addToSet":
                items = _list_at(doc, path, op)
                for item in _each(value):
                    if not any(same(item, existing) for existing in items):
                        items.append(item)
            elif op == "$pull":
                current = _current(doc, path)
                if isinstance(current, list):
                    test = _pull_test(value)
                    current[:] = [item for item in current if not test(item)]
                elif current is not None:
                    raise ValueError(f"$pull needs a list at {path!r}")




def seed(flt: Filter, doc: Document) -> Document:
    """The document an upsert starts from: the filter's equality fields (as MongoDB does)."""
    for key, cond in flt.items():
        if key == "$and":
            for sub in cond:
                seed(sub, doc)
        elif not key.startswith("$") and not isinstance(cond, dict):
            apply_update(doc, {"$set": {key: cond}})
    return doc


def get_path(doc: Document, path: str) -> Any:
    """The value at a dotted ``path`` (None if absent), without creating anything."""
    return _current(doc, path)
