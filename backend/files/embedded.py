"""Files in the data directory, named by content: ``files/ab/cdef…`` (sha256, split after two
hex digits so no directory grows huge).

A file appears only complete: written to a temporary file in the same directory, flushed to
disk, then renamed over the final name (atomic), so a crash leaves at most a stray temporary
file and concurrent puts of the same bytes both succeed. All disk work runs in the default
executor. Directories are 0700 and files 0600 (``backend/datadir.py``).
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import AsyncIterator

from backend.config import Settings
from backend.datadir import private_dir
from backend.errors import NotFound
from backend.files.checks import check_incoming, check_upload, is_file_id
from backend.files.interfaces import READ_CHUNK_BYTES, FileRef, IncomingFile


class EmbeddedFileStore:
    def __init__(self, root: Path, *, settings: Settings) -> None:
        self.root = root
        self._settings = settings

    def _path(self, file_id: str) -> Path:
        return self.root / file_id[:2] / file_id[2:]

    async def put(self, data: bytes, *, content_type: str, filename: str, derived: bool = False) -> FileRef:
        return await asyncio.get_running_loop().run_in_executor(None, self._put, data, content_type, filename,
                                                                derived)

    async def put_file(self, incoming: IncomingFile, *, content_type: str, filename: str) -> FileRef:
        return await asyncio.get_running_loop().run_in_executor(
            None, self._put_file, incoming, content_type, filename)

    def _put(self, data: bytes, content_type: str, filename: str, derived: bool) -> FileRef:
        ref = check_upload(data, content_type=content_type, filename=filename, settings=self._settings,
                           derived=derived)
        path = self._path(ref["id"])
        if path.exists():
            return ref
        private_dir(path.parent)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")  # 0600 whatever the umask
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)
        return ref

    def _put_file(self, incoming: IncomingFile, content_type: str, filename: str) -> FileRef:
        try:
            ref = check_incoming(incoming, content_type=content_type, filename=filename, settings=self._settings)
            path = self._path(ref["id"])
            if path.exists():
                return ref
            private_dir(path.parent)
            fd = os.open(incoming.path, os.O_RDONLY)
            try:
                os.fsync(fd)  # the content must be on disk before its name is
            finally:
                os.close(fd)
            _move(incoming.path, path)
            _sync_directory(path.parent)
            return ref
        finally:
            incoming.path.unlink(missing_ok=True)

    async def get(self, file_id: str) -> bytes:
        if not is_file_id(file_id):
            raise NotFound("文件不存在")
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self._path(file_id).read_bytes)
        except FileNotFoundError:
            raise NotFound("文件不存在") from None

    async def read_range(self, file_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Positioned reads (``os.pread``) of one open file, each in the executor."""
        if not is_file_id(file_id):
            raise NotFound("文件不存在")
        loop = asyncio.get_running_loop()
        try:
            fd = await loop.run_in_executor(None, os.open, self._path(file_id), os.O_RDONLY)
        except FileNotFoundError:
            raise NotFound("文件不存在") from None
        try:
            position = start
            while position < end:
                chunk = await loop.run_in_executor(None, os.pread, fd, min(READ_CHUNK_BYTES, end - position),
                                                   position)
                if not chunk:  # shorter than asked: a content-addressed file never changes, so never here
                    return
                position += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    async def exists(self, file_id: str) -> bool:
        if not is_file_id(file_id):
            return False
        return await asyncio.get_running_loop().run_in_executor(None, self._path(file_id).is_file)


def _move(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target``; across file systems (the incoming directory mounted
    elsewhere), copy next to the target first so that the final rename stays atomic."""
    try:
        os.replace(source, target)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)
