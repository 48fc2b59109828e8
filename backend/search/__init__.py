"""Chinese full-text search next to the document store (service catalogue, letters, Q&A
archives, forum, published information).

``open_search(store)`` gives the index for the store's engine; call ``await warm_up()`` once at
start so jieba's dictionary (about a second to load) is not loaded on the first request.
"""

from backend.search.factory import open_search
from backend.search.interfaces import SearchIndex
from backend.search.segment import warm_up

__all__ = ["SearchIndex", "open_search", "warm_up"]
