"""The demo city's people as principals, so that ``yzt init-demo`` writes every module's demo
data through the same use cases as the API does (never straight into the store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.auth.permissions import permissions_of
from backend.auth.tokens import Principal
from backend.identity.queries import USERS
from backend.identity.use_cases import do_upsert_citizen
from backend.wechat.fake_server import sandbox_openid

if TYPE_CHECKING:
    from backend.context import Context


def as_principal(user: dict, audience: str) -> Principal:
    roles = tuple(user.get("roles", ()))
    return Principal(user_id=user["_id"], audience=audience, roles=roles, department=user.get("department"),
                     family="demo", jti="demo", issued_at=0.0, expires_at=float("inf"),
                     permissions=permissions_of(roles))


class DemoCast:
    def __init__(self, ctx: "Context") -> None:
        self._ctx = ctx

    async def staff(self, username: str) -> Principal:
        user = await self._ctx.store.collection(USERS).find_one({"username": username, "kind": "staff"})
        if user is None:
            raise LookupError(f"no demo account {username}")
        return as_principal(user, "staff")

    async def citizen(self, n: int) -> Principal:
        """Demo citizen ``n``: the one the sandbox logs in with the code ``demo-citizen-<n>``."""
        user = await do_upsert_citizen(self._ctx, openid=sandbox_openid(f"demo-citizen-{n}"), unionid=None)
        return as_principal(user, "mp")
