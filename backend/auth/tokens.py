"""Access and refresh tokens.

Access tokens are HS256 JWTs (15 minutes by default) verified locally: no Redis or store round
trip per request. Refresh tokens are opaque, stored hashed, single use: each refresh rotates
them, and presenting a used one again revokes its whole family (the session it started), as
a stolen-token defence. ``alg`` is pinned to HS256, so ``alg: none`` and key confusion fail.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt

from backend.auth.permissions import Permission, permissions_of
from backend.auth.revocation import RevocationList, now_ms
from backend.clock import UTC, now_stored, to_storage
from backend.errors import Unauthenticated
from backend.store.interface import DocumentStore

ALGORITHM = "HS256"
AUDIENCES = ("mp", "staff")
_VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: read from a verified access token."""

    user_id: str
    audience: str
    roles: tuple[str, ...]
    department: str | None
    family: str
    jti: str
    issued_at: float
    expires_at: float
    permissions: frozenset[Permission] = frozenset()  # what the roles hold, resolved once per token

    def may(self, permission: Permission) -> bool:
        return permission is Permission.PUBLIC or permission in self.permissions


class TokenExpired(Unauthenticated):
    code = "token_expired"
    message = "登录已过期，请重新登录"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"
    message = "登录凭证无效，请重新登录"


class TokenRevoked(Unauthenticated):
    code = "token_revoked"
    message = "登录已失效，请重新登录"


class TokenService:
    def __init__(self, *, secret: str, store: DocumentStore, revocations: RevocationList,
                 access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self._refresh = store.collection("refresh_tokens")
        self.revocations = revocations
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._verified: dict[str, Principal] = {}

    async def create_indexes(self) -> None:
        await self._refresh.create_index([("family", 1)])

    def verify(self, token: str, audience: str) -> Principal:
        """Check signature, audience, expiry and revocation; raise Unauthenticated otherwise."""
        principal = self._verified.get(token)
        if principal is None or principal.audience != audience:
            principal = self._decode(token, audience)
            if len(self._verified) >= _VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = principal
        if principal.expires_at <= time.time():
            self._verified.pop(token, None)
            raise TokenExpired()
        if self.revocations.is_revoked(jti=principal.jti, family=principal.family,
                                       user_id=principal.user_id, issued_at=principal.issued_at):
            raise TokenRevoked()
        return principal

    def _decode(self, token: str, audience: str) -> Principal:
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=audience,
                                options={"require": ["exp", "iat", "sub", "aud", "jti"]}, leeway=0)
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.PyJWTError:
            raise TokenInvalid() from None
        roles = tuple(claims.get("roles", ()))
        return Principal(user_id=claims["sub"], audience=audience, roles=roles,
                         department=claims.get("dept"), family=claims.get("fam", ""), jti=claims["jti"],
                         issued_at=float(claims["iat"]), expires_at=float(claims["exp"]),
                         permissions=permissions_of(roles))

    async def issue_pair(self, user: dict[str, Any], audience: str, family: str | None = None) -> dict[str, Any]:
        """A new access token and refresh token; ``family`` continues a session on refresh."""
        family = family or secrets.token_urlsafe(12)
        issued_ms = now_ms()
        now = issued_ms / 1000
        claims = {  # iat to the millisecond (a JWT NumericDate may have a fraction): revocations compare in ms
            "sub": user["_id"], "aud": audience, "iat": now, "exp": int(now) + self._access_ttl,
            "jti": secrets.token_urlsafe(12), "fam": family, "roles": list(user.get("roles", ())),
        }
        if user.get("department"):
            claims["dept"] = user["department"]
        access = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        refresh = secrets.token_urlsafe(32)
        await self._refresh.insert_one({
            "_id": _digest(refresh), "family": family, "user_id": user["_id"], "audience": audience,
            "used": False, "revoked": False, "created_at": now_stored(),
            "expires_at": to_storage(datetime.fromtimestamp(now + self._refresh_ttl, UTC)),
        })
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self._access_ttl}

    async def rotate(self, refresh_token: str, audience: str) -> dict[str, Any]:
        """Spend a refresh token; returns the record (user_id, family). Re-use revokes the family."""
        key = _digest(refresh_token)
        record = await self._refresh.find_one_and_update(
            {"_id": key, "audience": audience, "used": False, "revoked": False,
             "expires_at": {"$gt": now_stored()}},
            {"$set": {"used": True, "used_at": now_stored()}})
        if record is not None:
            return record
        stale = await self._refresh.find_one({"_id": key, "audience": audience})
        if stale is not None and stale["used"] and not stale["revoked"]:
            await self.revoke_family(stale["family"])
        raise TokenRevoked()

    async def revoke_family(self, family: str) -> None:
        await self._refresh.update_many({"family": family}, {"$set": {"revoked": True}})
        await self.revocations.revoke_family(family, time.time() + self._access_ttl)

    async def logout(self, principal: Principal) -> None:
        await self.revocations.revoke_token(principal.jti, principal.expires_at)
        await self.revoke_family(principal.family)

    async def revoke_user(self, user_id: str) -> None:
        await self._refresh.update_many({"user_id": user_id}, {"$set": {"revoked": True}})
        await self.revocations.revoke_user(user_id, time.time() + self._access_ttl)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
