"""The document store: the interface (``interface.py``, which is the contract), its two
engines (``sqlite.py`` embedded, ``mongo.py`` production), ``open_store`` to pick one from the
settings, and ``paginate`` for every list endpoint."""

from backend.store.factory import open_store
from backend.store.interface import Collection, Document, DocumentStore, Filter, Sort, Update
from backend.store.pagination import paginate

__all__ = ["Collection", "Document", "DocumentStore", "Filter", "Sort", "Update", "open_store", "paginate"]
