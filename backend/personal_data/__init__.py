"""Personal data at rest: phone numbers, ID-card numbers, WeChat session keys are stored sealed
(AES-GCM), with a keyed hash beside them where the code looks them up.

How a module uses it (``ctx.personal_data`` is the process's ``PersonalData``)::

    CONTACT_PHONE = SealedField("letters", "contact_phone", kind="phone", hash_field="contact_phone_hash")
    # declare it once: add it to its module's ``sealed`` declaration (backend/registry.py): indexed and re-sealed at start
    doc.update(sealed_values(ctx.personal_data, CONTACT_PHONE, phone))   # write
    phone = read_sealed(ctx.personal_data, CONTACT_PHONE, doc)           # read (then mask for display)
    {"contact_phone_hash": {"$in": ctx.personal_data.lookup_hashes(phone, kind="phone")}}  # find

ID-card numbers use ``kind="id_card"`` (normalised: digits and X, upper case).
"""

from backend.personal_data.cipher import PersonalData, UnreadablePersonalData, is_sealed, normalise
from backend.personal_data.fields import SealedField, read_sealed, sealed_values
from backend.personal_data.reseal import reseal_on_start

__all__ = ["PersonalData", "SealedField", "UnreadablePersonalData", "is_sealed", "normalise", "read_sealed",
           "reseal_on_start", "sealed_values"]
