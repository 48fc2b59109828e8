"""The city's holiday tables as files in the data directory: ``<data dir>/holidays/<year>.json``.

One file per year, UTF-8 JSON. The API writes them; an operator may also put one there by hand
(only ``days`` is required; ``year``, if present, must match the file name)::

    {"year": 2027, "version": 2, "updated_at": "2026-12-01T09:30:00.000000Z", "updated_by": "<user id>",
     "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
              {"date": "2027-02-20", "kind": "workday", "name": "春节调休"}]}

``kind`` is ``holiday`` (a day off) or ``workday`` (an adjusted working day, 调休上班, always a
Saturday or Sunday); every date not listed follows Monday–Friday. A loaded table replaces
``chinese_calendar`` for its year (``backend/workdays.py``).

Every process reads the directory at start and looks again every ``YZT_CALENDAR_RELOAD_SECONDS``
(default 5): a file whose mtime, size or inode changed is read again, a removed file drops its
table, so a table saved through the API in one process applies in every other process on the
machine within that time. The API writes a temporary file and renames it over the old one (a
reader never sees half a table), under an ``flock`` on ``holidays/.lock`` so that two processes
never interleave their version check and write. A file that is not valid is logged and ignored;
the table loaded from it before, if any, stays in force.

Everything here is blocking file I/O on a few kilobytes: callers run it in an executor.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from backend import workdays
from backend.calendar.errors import HolidayTableInvalid, YearOutOfRange
from backend.calendar.schemas import CalendarDayIn, HolidayTableIn
from backend.errors import ValidationFailed, VersionConflict
from backend.workdays import HolidayTable

log = logging.getLogger(__name__)

FIRST_YEAR, LAST_YEAR = 2000, 2100
DIRECTORY = "holidays"
_FILE_NAME = re.compile(r"(\d{4})\.json")


@dataclass(frozen=True)
class StoredTable:
    year: int
    days: tuple[dict[str, Any], ...]  # {"date": "YYYY-MM-DD", "kind", "name"}, by date
    version: int = 0
    updated_at: str | None = None
    updated_by: str | None = None

    def as_holiday_table(self) -> HolidayTable:
        off = frozenset(date.fromisoformat(d["date"]) for d in self.days if d["kind"] == "holiday")
        worked = frozenset(date.fromisoformat(d["date"]) for d in self.days if d["kind"] == "workday")
        return HolidayTable(self.year, off, worked)

    def document(self) -> dict[str, Any]:
        return {"year": self.year, "version": self.version, "updated_at": self.updated_at,
                "updated_by": self.updated_by, "days": list(self.days)}


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise YearOutOfRange(details={"fields": [{"field": "year", "message": f"应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间"}]})


def checked_days(year: int, days: list[CalendarDayIn]) -> tuple[dict[str, Any], ...]:
    """The days of a valid table, sorted; HolidayTableInvalid listing every problem otherwise."""
    problems: list[dict[str, str]] = []
    seen: set[date] = set()
    for day in days:
        text = day.date.isoformat()
        if day.date.year != year:
            problems.append({"date": text, "message": f"日期不在 {year} 年内"})
        elif day.date in seen:
            problems.append({"date": text, "message": "日期重复"})
        elif day.kind == "workday" and day.date.weekday() < 5:
            problems.append({"date": text, "message": "调休上班日应为周六或周日（周一至周五本就是工作日）"})
        seen.add(day.date)
    if problems:
        raise HolidayTableInvalid(details={"problems": problems})
    ordered = sorted(days, key=lambda d: d.date)
    return tuple({"date": d.date.isoformat(), "kind": d.kind, "name": d.name} for d in ordered)


def parse_file(year: int, raw: bytes) -> StoredTable:
    """A table file's content (ValidationFailed or HolidayTableInvalid if it is not valid)."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValidationFailed("节假日表文件不是有效的 JSON") from None
    if not isinstance(doc, dict):
        raise ValidationFailed("节假日表文件应为 JSON 对象")
    if doc.get("year", year) != year:
        raise ValidationFailed(f"文件中的年份 {doc.get('year')!r} 与文件名 {year} 不符")
    try:
        table = HolidayTableIn.model_validate_json(orjson.dumps({"days": doc.get("days")}))
    except ValidationError as exc:  # only logged: the API validates its bodies before they get here
        raise ValidationFailed(details={"fields": [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors(include_url=False)]}) from None
    version = doc.get("version")
    return StoredTable(year, checked_days(year, table.days), version if isinstance(version, int) else 0,
                       doc.get("updated_at") if isinstance(doc.get("updated_at"), str) else None,
                       doc.get("updated_by") if isinstance(doc.get("updated_by"), str) else None)


@dataclass
class HolidayFiles:
    """The table files of one data directory, as this process last read them."""

    directory: Path
    tables: dict[int, StoredTable] = field(default_factory=dict)
    _signatures: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, year: int) -> Path:
        return self.directory / f"{year}.json"

    def scan(self) -> bool:
        """Read again the files that changed since the last scan; True if any table changed."""
        with self._lock:
            found: dict[int, tuple[int, int, int]] = {}
            try:
                entries = list(os.scandir(self.directory))
            except FileNotFoundError:
                entries = []
            for entry in entries:
                match = _FILE_NAME.fullmatch(entry.name)
                if match and entry.is_file():
                    st = entry.stat()
                    found[int(match.group(1))] = (st.st_mtime_ns, st.st_size, st.st_ino)
            changed = False
            for year in set(self.tables) - set(found):
                log.warning("holiday table %s was removed: %d has no loaded table any more", self.path(year), year)
                del self.tables[year]
                changed = True
            for year in set(self._signatures) - set(found):
                del self._signatures[year]
            for year, signature in sorted(found.items()):
                if self._signatures.get(year) == signature:
                    continue
                self._signatures[year] = signature
                try:
                    check_year(year)
                    table = parse_file(year, self.path(year).read_bytes())
                except (OSError, ValidationFailed, HolidayTableInvalid) as exc:
                    log.error("holiday table %s is not valid (%s %s); %s", self.path(year), exc.__class__.__name__,
                              getattr(exc, "details", "") or exc,
                              "the table loaded before stays" if year in self.tables else "it is not loaded")
                    continue
                if self.tables.get(year) != table:
                    self.tables[year] = table
                    changed = True
                    log.info("holiday table for %d loaded from %s (version %s, %d days)", year, self.path(year),
                             table.version, len(table.days))
            return changed

    def save(self, table: StoredTable, expected_version: int | None) -> StoredTable:
        """Write ``table`` (its version the stored one plus one) unless its days are already the
        stored ones; VersionConflict if ``expected_version`` is not the stored version."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            current = self._read_current(table.year)
            current_version = current.version if current else 0
            if expected_version is not None and expected_version != current_version:
                raise VersionConflict(details={"version": current_version})
            if current is not None and current.days == table.days:
                return current  # nothing changed: nothing written
            saved = StoredTable(table.year, table.days, current_version + 1, table.updated_at, table.updated_by)
            target = self.path(table.year)
            partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps(saved.document(), option=orjson.OPT_INDENT_2))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, target)
        finally:
            os.close(lock_fd)  # drops the flock
        self.scan()
        return saved

    def _read_current(self, year: int) -> StoredTable | None:
        try:
            return parse_file(year, self.path(year).read_bytes())
        except FileNotFoundError:
            return None
        except (ValidationFailed, HolidayTableInvalid):
            return None  # a broken hand-written file: the API's table replaces it


    def snapshot(self) -> list[StoredTable]:
        with self._lock:
            return list(self.tables.values())


def install(files: HolidayFiles) -> None:
    """Make ``files``' tables the ones ``backend.workdays`` uses in this process."""
    workdays.set_holiday_tables(table.as_holiday_table() for table in files.snapshot())


_FILES: dict[Path, HolidayFiles] = {}


def files_of(data_dir: Path) -> HolidayFiles:
    """This process's view of a data directory's tables (one per directory)."""
    directory = (Path(data_dir) / DIRECTORY).resolve()
    if directory not in _FILES:
        _FILES[directory] = HolidayFiles(directory)
    return _FILES[directory]


def forget(data_dir: Path) -> None:
    _FILES.pop((Path(data_dir) / DIRECTORY).resolve(), None)
