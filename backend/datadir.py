"""The data directory is private: 0700 for it and every directory in it, 0600 for every file.

It holds citizens' letters, phone numbers and ID numbers, uploads and the keys, so no other
account on the machine may read any of it, whatever the umask the process was started with.
Everything that creates something there goes through ``private_dir`` / ``private_file`` (or
creates with mode 0600 itself: ``tempfile.mkstemp``, ``os.open(..., 0o600)``, or a child
process started with umask 077); ``tighten`` fixes what an earlier version or an operator left.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
CHILD_UMASK = 0o077  # for child processes that write into the data directory (redis-server)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents below an existing directory) as 0700; tighten it if it exists.
    ``Path.mkdir(mode=…)`` alone is not enough: the umask applies, and parents get the default mode."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # created meanwhile by another process
            pass
        os.chmod(directory, DIR_MODE)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists; make it 0600 either way. For files that
    another library then opens and would otherwise create with its own mode (SQLite: 0644 less the umask)."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten(root: Path) -> int:
    """Make every directory under ``root`` 0700 and every other entry 0600 (symbolic links are
    left alone, never followed). Returns how many entries were changed. Run at every start: one
    ``lstat`` per entry, a fraction of a second for a hundred thousand files."""
    changed = 0
    private_dir(root)
    for directory, subdirs, names in os.walk(root, followlinks=False):
        for name in subdirs + names:
            path = os.path.join(directory, name)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:  # removed meanwhile (a temporary file)
                continue
            if stat.S_ISLNK(mode):
                continue
            wanted = DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE
            if stat.S_IMODE(mode) != wanted:
                try:
                    os.chmod(path, wanted)
                except FileNotFoundError:
                    continue
                except OSError as exc:  # e.g. an immutable file: the store reports its own fault
                    log.error("data directory: cannot make %s private: %s", name, exc.strerror)
                    continue
                changed += 1
    if changed:
        log.warning("data directory: made %d entries private (directories 0700, files 0600)", changed)
    return changed
