"""The narrow context every use case, query and job is given.

A leaf module: it names interfaces only, never the composition root (``backend/bootstrap.py``
builds the one ``AppContext``, a subclass that adds what only the HTTP layer and push need).
The clock lives here, so a test moves its own app's time and nothing else in the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from backend.clock import Clock
from backend.config import Settings
from backend.files.interfaces import FileStore
from backend.search.interfaces import SearchIndex
from backend.store.interface import DocumentStore

if TYPE_CHECKING:
    from backend.auth.tokens import TokenService
    from backend.identity.directory import DepartmentNames
    from backend.personal_data import PersonalData
    from backend.wechat.client import WeChatClient


class EventRelay(Protocol):
    """The outbox relay as a use case sees it: told to look now, after a write with events
    (in ``collection``; None: anywhere)."""

    def wake(self, collection: str | None = None) -> None: ...


@dataclass
class Context:
    settings: Settings
    store: DocumentStore
    clock: Clock
    search: SearchIndex
    files: FileStore
    relay: EventRelay
    department_names: "DepartmentNames"
    tokens: "TokenService"
    wechat: "WeChatClient"
    personal_data: "PersonalData"  # seals phone and ID-card numbers, session keys (backend/personal_data/)
