"""Events of delegations (``office.delegation.*``)."""

from enum import StrEnum


class DelegationEvent(StrEnum):
    GRANTED = "office.delegation.granted"
    REVOKED = "office.delegation.revoked"
