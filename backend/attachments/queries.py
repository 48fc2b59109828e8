"""Attachment records as the objects that hold them show and serve them.

An attachment record (``{id, file_id, filename, content_type, size}``, see ``use_cases.py``) lives
inside the object that holds it (a letter, a document, a task). A file is downloaded only through
that object, at ``<the object's path>/files/<file_id>``, by whoever may see the object: each
module's ``queries.py`` says which files an object holds for a viewer (``letter_file_for_citizen``,
``document_file``, …) with ``held_file``; the download itself is ``backend/http/downloads.py``.
"""

from __future__ import annotations

from typing import Any, Iterable

from backend.errors import NotFound

THUMBNAIL_QUERY = "?thumbnail=1"


def is_image(record: dict[str, Any]) -> bool:
    return str(record.get("content_type") or "").startswith("image/")


def held_file(records: Iterable[dict[str, Any] | None], file_id: str, not_found: type[NotFound]) -> dict[str, Any]:
    """The record of ``file_id`` among the files an object holds, else the object's own 404
    (``not_found``): a file it does not hold is answered as the object would be for a stranger."""
    for record in records:
        if record is not None and record.get("file_id") == file_id:
            return record
    raise not_found()


def with_links(records: Iterable[dict[str, Any]], files_path: str) -> list[dict[str, Any]]:
    """Records as an API shows them: each with its download ``url`` under ``files_path`` (the
    holding object's ``…/files``) and, for an image, the ``thumbnail_url`` of its thumbnail."""
    return [with_link(record, files_path) for record in records]


def with_link(record: dict[str, Any], files_path: str) -> dict[str, Any]:
    url = f"{files_path}/{record['file_id']}"
    return {**record, "url": url, "thumbnail_url": url + THUMBNAIL_QUERY if is_image(record) else None}


def cover_thumbnail_url(records: Iterable[dict[str, Any]], files_path: str) -> str | None:
    """A list item's picture: the thumbnail of its first image, if it has one."""
    first = next((record for record in records if is_image(record)), None)
    return with_link(first, files_path)["thumbnail_url"] if first else None
