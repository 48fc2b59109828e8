"""Approval routes: sequential steps, each one signer or a countersign (会签) of several.

A case that needs approvals carries a ``route`` sub-document::

    {"steps": [{"id": "review", "name": "核稿", "rule": "all" | "any" | "quorum", "quorum": None,
                "signers": [{"user_id", "name", "department"}], "status": "waiting" | "active" | "done"}],
     "current": 0,               # index of the active step; None once the route is complete
     "decisions": [...],         # this round's decisions on the active step
     "opinions": [...]}          # every decision ever made, in order (意见, shown as the trail)

A decision is ``{"step", "user_id" (the signer), "by" (who acted: the signer or their deputy),
"decision": "approve" | "reject", "opinion", "at", "to_step"}``.

Completion: ``all`` needs every signer's approval, ``any`` one, ``quorum`` n. A rejection ends
the step at once and sends the case back: to a named earlier step (that step and every later
one start again) or to the drafter (the whole route starts again after resubmission). Signers
may be added to or removed from the active or a later step (加签/减签); removing one can
complete the step, so the caller applies the outcome like a decision's.

Functions are pure: they take the route and return ``(new route, outcome)``; the case engine
writes the result in the same compare-and-set as the transition.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from backend.errors import Conflict, Forbidden, ValidationFailed

Rule = Literal["all", "any", "quorum"]
Outcome = Literal["pending", "advanced", "completed", "rejected_to_step", "returned_to_drafter"]
DRAFTER = "drafter"


class NotASigner(Forbidden):
    code = "not_a_signer"
    message = "您不是当前步骤的审批人，或已经提交过意见"


class StepNotFound(ValidationFailed):
    code = "step_not_found"
    message = "审批步骤不存在"


class CannotRejectForward(ValidationFailed):
    code = "cannot_reject_forward"
    message = "只能退回到当前步骤之前的步骤或拟稿人"


class SignerChangeRefused(Conflict):
    code = "signer_change_refused"
    message = "该审批人不能调整：已提交意见、已在该步骤中，或将使该步骤无人审批"


@dataclass(frozen=True)
class StepSpec:
    id: str
    name: str
    signers: list[dict[str, Any]]
    rule: Rule = "all"
    quorum: int | None = None


def new_route(steps: Iterable[StepSpec]) -> dict[str, Any]:
    specs = list(steps)
    if not specs:
        raise ValidationFailed("审批流程至少需要一个步骤")
    ids = [spec.id for spec in specs]
    if len(set(ids)) != len(ids) or DRAFTER in ids:
        raise ValidationFailed("审批步骤的编号不能重复")
    for spec in specs:
        _check_rule(spec.rule, spec.quorum, len(spec.signers))
    route = {"steps": [{"id": s.id, "name": s.name, "rule": s.rule, "quorum": s.quorum,
                        "signers": [dict(signer) for signer in s.signers], "status": "waiting"} for s in specs],
             "current": 0, "decisions": [], "opinions": []}
    route["steps"][0]["status"] = "active"
    return route


def active_step(route: dict[str, Any] | None) -> dict[str, Any] | None:
    if not route or route.get("current") is None:
        return None
    return route["steps"][route["current"]]


def pending_signers(route: dict[str, Any] | None) -> list[str]:
    """User ids of the active step's signers who have not decided this round."""
    step = active_step(route)
    if step is None:
        return []
    decided = {d["user_id"] for d in route["decisions"]}
    return [s["user_id"] for s in step["signers"] if s["user_id"] not in decided]


def decide(route: dict[str, Any], *, signer: str, by: str, decision: Literal["approve", "reject"],
           opinion: str | None, at: str, to_step: str | None = None) -> tuple[dict[str, Any], Outcome]:
    """Record ``signer``'s decision (made by ``by``: the signer or a deputy) on the active step."""
    if signer not in pending_signers(route):
        raise NotASigner()
    route = copy.deepcopy(route)
    step = route["steps"][route["current"]]
    record = {"step": step["id"], "step_name": step["name"], "user_id": signer, "by": by, "decision": decision,
              "opinion": opinion, "at": at, "to_step": to_step if decision == "reject" else None}
    route["opinions"].append(record)
    if decision == "reject":
        return _send_back(route, to_step or DRAFTER)
    route["decisions"].append(record)
    return _settle(route)


def add_signer(route: dict[str, Any], step_id: str, signer: dict[str, Any]) -> dict[str, Any]:
    """加签: one more signer on the active or a later step."""
    route = copy.deepcopy(route)
    index, step = _open_step(route, step_id)
    if any(s["user_id"] == signer["user_id"] for s in step["signers"]):
        raise SignerChangeRefused()
    step["signers"].append(dict(signer))
    return route


def remove_signer(route: dict[str, Any], step_id: str, user_id: str) -> tuple[dict[str, Any], Outcome]:
    """减签: a signer who has not decided leaves; the step may be complete without them."""
    route = copy.deepcopy(route)
    index, step = _open_step(route, step_id)
    decided = {d["user_id"] for d in route["decisions"]} if index == route["current"] else set()
    remaining = [s for s in step["signers"] if s["user_id"] != user_id]
    if len(remaining) == len(step["signers"]) or user_id in decided or not remaining:
        raise SignerChangeRefused()
    try:
        _check_rule(step["rule"], step["quorum"], len(remaining))
    except ValidationFailed:
        raise SignerChangeRefused() from None
    step["signers"] = remaining
    if index != route["current"]:
        return route, "pending"
    return _settle(route)


def restart(route: dict[str, Any]) -> dict[str, Any]:
    """After the drafter resubmits: the route starts again from its first step."""
    route = copy.deepcopy(route)
    for step in route["steps"]:
        step["status"] = "waiting"
    route["steps"][0]["status"] = "active"
    route["current"], route["decisions"] = 0, []
    return route


def _settle(route: dict[str, Any]) -> tuple[dict[str, Any], Outcome]:
    step = route["steps"][route["current"]]
    approvals = sum(1 for d in route["decisions"] if d["decision"] == "approve")
    needed = {"all": len(step["signers"]), "any": 1, "quorum": step["quorum"] or 0}[step["rule"]]
    if approvals < needed:
        return route, "pending"
    step["status"] = "done"
    route["decisions"] = []
    if route["current"] + 1 == len(route["steps"]):
        route["current"] = None
        return route, "completed"
    route["current"] += 1
    route["steps"][route["current"]]["status"] = "active"
    return route, "advanced"


def _send_back(route: dict[str, Any], to_step: str) -> tuple[dict[str, Any], Outcome]:
    if to_step == DRAFTER:
        for step in route["steps"]:
            step["status"] = "waiting"
        route["current"], route["decisions"] = None, []
        return route, "returned_to_drafter"
    index = next((i for i, step in enumerate(route["steps"]) if step["id"] == to_step), None)
    if index is None:
        raise StepNotFound(details={"step": to_step})
    if index > route["current"]:
        raise CannotRejectForward()
    for later in route["steps"][index:]:
        later["status"] = "waiting"
    route["steps"][index]["status"] = "active"
    route["current"], route["decisions"] = index, []
    return route, "rejected_to_step"


def _open_step(route: dict[str, Any], step_id: str) -> tuple[int, dict[str, Any]]:
    for index, step in enumerate(route["steps"]):
        if step["id"] == step_id:
            if route.get("current") is None or index < route["current"]:
                raise SignerChangeRefused()
            return index, step
    raise StepNotFound(details={"step": step_id})


def _check_rule(rule: str, quorum: int | None, signers: int) -> None:
    if signers < 1:
        raise ValidationFailed("每个审批步骤至少需要一名审批人")
    if rule == "quorum" and not (quorum and 1 <= quorum <= signers):
        raise ValidationFailed("会签通过人数应在 1 到审批人数之间")
