"""The test kit: one list of personas, and what each module supplies so that its routes are
probed by the authorization matrix from its first commit.

A module with routes has ``tests/<module>/kit.py`` exposing ``KIT = Kit(...)``: how to make sample
objects (returning the value of each path parameter its routes take), valid bodies per request
model (so an allowed caller gets past validation to the real check), and which persona works in
another department and must get 404 on the module's objects.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from backend.registry import Module

if TYPE_CHECKING:
    from tests.conftest import Harness


@dataclass(frozen=True)
class Persona:
    name: str  # the demo account's username (its password is ``<name>@Demo2026``), or "citizen"/"anonymous"
    roles: tuple[str, ...]
    audience: str | None  # "staff", "mp", or None for no token
    department: str | None = None


# Every persona the matrix tries on every route (the demo accounts of ``yzt init-demo``).
PERSONAS: tuple[Persona, ...] = (
    Persona("anonymous", (), None),
    Persona("citizen", ("citizen",), "mp"),
    Persona("admin", ("admin",), "staff"),
    Persona("center", ("mailbox_center",), "staff", "qd-mailbox"),
    Persona("housing", ("staff",), "staff", "qd-housing"),
    Persona("env", ("staff",), "staff", "qd-env"),
    Persona("shinan_admin", ("department_admin",), "staff", "qd-shinan"),
    Persona("officer", ("officer",), "staff", "qd-urban"),
    Persona("cppcc_member", ("cppcc_member",), "staff"),
    Persona("committee", ("proposal_committee",), "staff", "qd-cppcc"),
)
UNKNOWN_ID = "0" * 20


@dataclass(frozen=True)
class Kit:
    # Makes sample objects as the given citizen; returns path parameter → value for the routes.
    make: Callable[["Harness", Any], Awaitable[Mapping[str, str]]]
    bodies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # request model name → a valid body
    foreign: str | None = None  # a staff persona of another department: 404 on the objects below
    object_params: frozenset[str] = frozenset()  # path parameters naming the module's objects


def kit_of(module: Module) -> Kit | None:
    try:
        found = importlib.import_module(f"tests.{module.name}.kit")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"tests.{module.name}", f"tests.{module.name}.kit"):
            raise
        return None
    return found.KIT
