"""Sealed fields, declared by the module that owns them: which field of which collection holds
sealed text, of what kind, and where its look-up hash goes. The start-up re-seal works from these
declarations (each module's ``sealed`` in its ``Module``), and the owning module writes and reads
through ``sealed_values`` / ``read_sealed`` so the field's name is the authenticated data every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.personal_data.cipher import PersonalData


@dataclass(frozen=True)
class SealedField:
    collection: str
    field: str  # a top-level field holding the sealed text (or null)
    kind: str  # "phone", "id_card", or "secret" (no look-up, no normalisation)
    hash_field: str | None = None  # where the look-up hash goes, if the code must find documents by it

    @property
    def name(self) -> str:
        """The authenticated data of every value sealed in this field."""
        return f"{self.collection}.{self.field}"


def sealed_values(personal_data: PersonalData, spec: SealedField, text: str) -> dict[str, str]:
    """The ``$set`` for ``text``: the sealed value, and its look-up hash if the field has one."""
    values = {spec.field: personal_data.seal(text, field=spec.name)}
    if spec.hash_field:
        values[spec.hash_field] = personal_data.lookup_hash(text, kind=spec.kind)
    return values


def read_sealed(personal_data: PersonalData, spec: SealedField, doc: dict[str, Any]) -> str | None:
    """The plain text of the field in ``doc``, or None if it has none."""
    value = doc.get(spec.field)
    return None if value is None else personal_data.unseal(value, field=spec.name)
