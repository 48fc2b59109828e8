"""Parties and guards for cases with an approval route (``steps.py``).

``CURRENT_SIGNERS`` holds the case while a step waits (their to-do); ``IS_SIGNER`` lets one of
them act, or their deputy during a delegation (``delegation.py``), and names whom the deputy
acts for so the decision and the history read "X 代 Y".
"""

from __future__ import annotations

from backend.cases.delegation import acting_for
from backend.cases.parties import Party
from backend.cases.steps import NotASigner, pending_signers
from backend.cases.workflow import Guard, GuardInput, Verdict
from backend.events import Recipient

CURRENT_SIGNERS = Party("current signers",
                        lambda doc: [Recipient.user(user_id) for user_id in pending_signers(doc.get("route"))])
# Everyone named on any step of the route (a leader's 批示 may come at any time of the approval).
ROUTE_SIGNERS = Party("route signers", lambda doc: [
    Recipient.user(signer["user_id"]) for step in (doc.get("route") or {}).get("steps", []) for signer in step["signers"]])


async def _signer(given: GuardInput) -> Verdict:
    signer = await acting_for(given.ctx.store, given.actor.user_id, pending_signers(given.doc.get("route")), given.now)
    return Verdict(signer is not None, on_behalf_of=signer)


IS_SIGNER = Guard("a current signer or their deputy", _signer, NotASigner)


async def signer_for(given: GuardInput) -> str | None:
    """Whose slot on the active step the actor fills (themselves, or whom they stand in for)."""
    return (await _signer(given)).on_behalf_of
