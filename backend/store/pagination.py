"""Keyset ("cursor") pagination: the one way every list endpoint pages.

Unlike skip/limit, a page costs the same however deep it is (the query seeks the sort index
to the last item seen), and items inserted or removed meanwhile do not shift pages. The sort
always ends with ``_id``, so items that tie on the sort fields still have one fixed order.

The cursor is opaque to clients: urlsafe base64 of the last item's sort values plus a
fingerprint of the sort, so a cursor made for one order is refused for another.

Sort fields should hold one type (plus null or missing): like MongoDB, a range condition only
compares numbers with numbers and strings with strings. Null/missing sort first ascending and
last descending; the "after the cursor" filter is split so that the common case is one query
that seeks the index, and the nulls at the end of a descending sort are fetched only when the
page reaches them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import zlib
from typing import Any

import orjson

from backend.errors import ValidationFailed
from backend.store.interface import Collection, Document, Filter, Sort

_MAX_CURSOR = 2048
_SCALARS = (str, int, float, bool, type(None))
_INT64 = range(-2**63, 2**63)  # what both engines can compare (BSON refuses larger, SQLite overflows)


async def paginate(collection: Collection, filter: Filter, *, sort: Sort, limit: int,
                   cursor: str | None, projection: list[str] | None = None
                   ) -> tuple[list[Document], str | None]:
    """One page of ``filter`` in ``sort`` order (``_id`` appended as the tiebreaker), after
    ``cursor`` (None: the first page). Returns the items and the cursor of the next page, or
    None on the last page. An invalid cursor raises ``ValidationFailed``."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    sort = _full_sort(sort)
    extra = [] if projection is None else _extra_roots(sort, projection)
    wanted = projection if projection is None else [*projection, *extra]
    if cursor is None:
        segments: list[Filter] = [{}]
    else:
        segments = _after(sort, _decode(cursor, sort))
    items: list[Document] = []
    for segment in segments:
        condition = {"$and": [filter, segment]} if filter and segment else (filter or segment)
        items += await collection.find(condition, sort=sort, limit=limit + 1 - len(items), projection=wanted)
        if len(items) > limit:
            break
    next_cursor = _encode(sort, items[limit - 1]) if len(items) > limit else None
    page = items[:limit]
    for item in page:
        for root in extra:
            item.pop(root, None)
    return page, next_cursor


def _full_sort(sort: Sort) -> Sort:
    if sort and sort[-1][0] == "_id":
        return list(sort)
    return [*sort, ("_id", sort[-1][1] if sort else 1)]


def _extra_roots(sort: Sort, projection: list[str]) -> list[str]:
    """Top-level fields the sort needs that the caller did not ask for."""
    roots = {field.split(".")[0] for field, _ in sort} - {"_id", *projection}
    return sorted(roots)


def _fingerprint(sort: Sort) -> int:
    return zlib.crc32(",".join(f"{field}:{direction}" for field, direction in sort).encode())


def _value(doc: Document, path: str) -> Any:
    return _value_at(doc, path.split("."))


def _value_at(doc: Document, parts: list[str]) -> Any:
    node: Any = doc
    for part in parts:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, _SCALARS):
        raise ValueError(f"cannot paginate on {'.'.join(parts)!r}: it holds a {type(node).__name__}")
    return node


def _encode(sort: Sort, doc: Document) -> str:
    payload = [_fingerprint(sort), *(_value(doc, field) for field, _ in sort)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()


def _decode(cursor: str, sort: Sort) -> list[Any]:
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError("too long")
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        valid = (isinstance(payload, list) and len(payload) == len(sort) + 1
                 and payload[0] == _fingerprint(sort) and isinstance(payload[-1], str)
                 and all(isinstance(v, _SCALARS) and (not isinstance(v, int) or v in _INT64) for v in payload[1:]))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        valid = False
    if not valid:
        raise ValidationFailed("分页游标无效", details={"field": "cursor"})
    return payload[1:]


def _strictly_after(field: str, direction: int, value: Any) -> Filter | None:
    """Items after ``value`` on one field; None if there are none."""
    if direction == 1:
        return {field: {"$ne": None}} if value is None else {field: {"$gt": value}}
    if value is None:
        return None
    return {"$or": [{field: {"$lt": value}}, {field: None}]}


def _later(sort: Sort, values: list[Any]) -> Filter:
    """Items after ``values`` in ``sort`` order as one OR chain (used within ties, which are few).
    Never empty, because the last sort field is ``_id``, which is never null."""
    (field, direction), *rest = sort
    options = [f for f in (_strictly_after(field, direction, values[0]),) if f]
    if rest:
        options.append({"$and": [{field: values[0]}, _later(rest, values[1:])]})
    return options[0] if len(options) == 1 else {"$or": options}


def _after(sort: Sort, values: list[Any]) -> list[Filter]:
    """The items after the cursor as filters in sort order, each one index-friendly.

    With a non-null value on the first field the filter bounds that field (``>= v`` / ``<= v``)
    so the query seeks the index; the nulls that follow in a descending sort, or the non-nulls
    that follow a null in an ascending one, come as a second filter, queried only when the page
    reaches them.
    """
    (field, direction), *rest = sort
    first = values[0]
    if not rest:  # sorted by _id alone
        return [{field: {"$gt" if direction == 1 else "$lt": first}}]
    ties = {"$and": [{field: first}, _later(rest, values[1:])]}
    if first is None:
        return [ties, {field: {"$ne": None}}] if direction == 1 else [ties]
    beyond = {field: {"$gt" if direction == 1 else "$lt": first}}
    ordered = {"$and": [{field: {"$gte" if direction == 1 else "$lte": first}}, {"$or": [beyond, ties]}]}
    return [ordered, {field: None}] if direction == -1 else [ordered]


async def paginate_union(collection: Collection, filters: list[Filter], *, sort: Sort, limit: int,
                         cursor: str | None, projection: list[str] | None = None
                         ) -> tuple[list[Document], str | None]:
    """One page over the union of several filters, merged in ``sort`` order, with one cursor.

    For lists that are someone's under several keys (a person's to-dos: theirs, their
    department's, their roles'): each filter is its own index seek, where one ``$in`` over the
    keys would have to sort every match. The filters must not overlap (an item matching two
    would be listed twice). Sort fields must be in ``projection`` (or leave it None)."""
    if len(filters) < 2:  # nothing to merge
        return await paginate(collection, filters[0], sort=sort, limit=limit, cursor=cursor,
                              projection=projection) if filters else ([], None)
    full = _full_sort(sort)
    pages = await asyncio.gather(*(paginate(collection, flt, sort=full, limit=limit, cursor=cursor,
                                            projection=projection) for flt in filters))
    merged = _sorted([item for items, _next in pages for item in items], full)
    more = len(merged) > limit or any(next_cursor is not None for _items, next_cursor in pages)
    page = merged[:limit]
    return page, (_encode(full, page[-1]) if more and page else None)


def _sorted(items: list[Document], sort: Sort) -> list[Document]:
    """``items`` in ``sort`` order, nulls first ascending and last descending, as the store sorts."""
    paths = [(field.split("."), direction) for field, direction in sort]
    if len({direction for _path, direction in paths}) == 1:  # one direction: a key per item
        def key(item: Document) -> tuple[Any, ...]:
            values = (_value_at(item, path) for path, _direction in paths)
            return tuple((value is not None, value) for value in values)
        return sorted(items, key=key, reverse=paths[0][1] == -1)
    return sorted(items, key=functools.cmp_to_key(lambda a, b: _compare(sort, a, b)))


def _compare(sort: Sort, a: Document, b: Document) -> int:
    for field, direction in sort:
        x, y = _value(a, field), _value(b, field)
        if x == y:
            continue
        # Null first ascending, as the store sorts; otherwise values of one type compare.
        before = x is None or (y is not None and x < y)
        return (-1 if before else 1) * direction
    return 0
