"""The start-up re-seal: every declared sealed field ends up sealed with the current key.

It finds the values not sealed with the current key (plain text written before sealing existed,
values of the previous key after a rotation) through an index on the field: two range scans on
each side of the current key's prefix, empty once everything is current, so an ordinary start pays
two index probes per field. Each value is rewritten with a compare-and-set on its old value, which
makes the pass idempotent and safe with several processes starting at once and with writers
meanwhile. ``version`` is not bumped: what the API shows does not change, and an If-Match stays valid.
A value no configured key opens is left as it is and counted (logged as an error).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from backend.personal_data.cipher import PersonalData, UnreadablePersonalData
from backend.personal_data.fields import SealedField, sealed_values
from backend.store.interface import DocumentStore

log = logging.getLogger(__name__)

_BATCH = 500


async def create_sealed_indexes(store: DocumentStore, fields: Iterable[SealedField]) -> None:
    for spec in fields:
        collection = store.collection(spec.collection)
        await collection.create_index([(spec.field, 1)], sparse=True)  # what makes the re-seal's scans cheap
        if spec.hash_field:
            await collection.create_index([(spec.hash_field, 1)], sparse=True)


async def reseal_on_start(store: DocumentStore, personal_data: PersonalData,
                          fields: Iterable[SealedField]) -> dict[str, int]:
    """Re-seal what needs it; returns the count of values re-sealed per field ("collection.field")."""
    fields = list(fields)
    await create_sealed_indexes(store, fields)
    prefix = personal_data.current_prefix
    after_prefix = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first string above every "<prefix>…"
    report: dict[str, int] = {}
    for spec in fields:
        collection = store.collection(spec.collection)
        resealed = unreadable = 0
        for outside in ({"$lt": prefix}, {"$gte": after_prefix}):
            skip = 0  # values left in the range (unreadable, not text) sort first: step over them
            while docs := await collection.find({spec.field: outside}, sort=[(spec.field, 1), ("_id", 1)],
                                                skip=skip, limit=_BATCH, projection=[spec.field]):
                for doc in docs:
                    value = doc.get(spec.field)
                    try:
                        text = personal_data.unseal(value, field=spec.name) if isinstance(value, str) else None
                    except UnreadablePersonalData:
                        text = None
                        unreadable += 1
                    if text is None:
                        skip += 1
                        continue
                    if await collection.find_one_and_update({"_id": doc["_id"], spec.field: value},
                                                            {"$set": sealed_values(personal_data, spec, text)}):
                        resealed += 1
        report[spec.name] = resealed
        if resealed:
            log.info("personal data: sealed %d value(s) of %s with the current key", resealed, spec.name)
        if unreadable:
            log.error("personal data: %d value(s) of %s open with no configured key "
                      "(set YZT_PREVIOUS_DATA_KEY to the key they were sealed with)", unreadable, spec.name)
    return report
