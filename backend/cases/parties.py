"""Parties: a declared "who" on a case, evaluated on the case document.

A workflow names its parties once (the writer, the lead unit, the mailbox centre, the current
step's signers) and uses them three ways: who holds the case in a state (its to-do), who an
event tells, and who a guard lets act. Each resolves to ``Recipient``s, so one definition serves
all three and they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from backend.auth.tokens import Principal
from backend.events import Recipient
from backend.store.documents import get_path
from backend.store.interface import Document


@dataclass(frozen=True)
class Party:
    name: str
    resolve: Callable[[Document], Iterable[Recipient]]

    def __call__(self, doc: Document) -> tuple[Recipient, ...]:
        return tuple(dict.fromkeys(self.resolve(doc)))

    def __or__(self, other: "Party") -> "Party":
        return Party(f"{self.name}|{other.name}", lambda doc: (*self(doc), *other(doc)))

    def includes(self, actor: Principal, doc: Document) -> bool:
        """Whether ``actor`` is one of the party: the person, a member of the department (its own
        department, not a parent's), or a holder of the role."""
        return any(is_member(actor, recipient) for recipient in self(doc))


def is_member(actor: Principal, recipient: Recipient) -> bool:
    if recipient.kind == "user":
        return actor.user_id == recipient.value
    if recipient.kind == "department":
        return actor.department is not None and actor.department == recipient.value
    return recipient.value in actor.roles


def user_at(path: str, name: str | None = None) -> Party:
    """The person whose id is stored at ``path`` (e.g. the citizen who wrote a letter)."""
    return Party(name or path, lambda doc: _each(doc, path, Recipient.user))


def users_at(path: str, name: str | None = None) -> Party:
    """The people whose ids are listed at ``path``."""
    return Party(name or path, lambda doc: _each(doc, path, Recipient.user))


def department_at(path: str, name: str | None = None) -> Party:
    """The department whose code is stored (or listed) at ``path``."""
    return Party(name or path, lambda doc: _each(doc, path, Recipient.department))


def role(value: str, name: str | None = None) -> Party:
    recipient = Recipient.role(value)
    return Party(name or f"role:{value}", lambda doc: (recipient,))


NOBODY = Party("nobody", lambda doc: ())


def _each(doc: Document, path: str, make: Callable[[str], Recipient]) -> list[Recipient]:
    value: Any = get_path(doc, path)
    values = value if isinstance(value, list) else [value]
    return [make(v) for v in values if isinstance(v, str) and v]
