"""Uploaded files (letter attachments, evidence photos): content-addressed, behind one interface.

``open_file_store(settings, store)`` gives the GridFS store next to MongoDB, else files in the
data directory. Callers keep the returned ``FileRef`` in their own document.
"""

from backend.files.factory import open_file_store
from backend.files.interfaces import FileRef, FileStore

__all__ = ["FileRef", "FileStore", "open_file_store"]
