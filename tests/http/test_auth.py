"""Tokens through HTTP: login, expiry, audiences, tampering, revocation, refresh rotation."""

from __future__ import annotations

import asyncio
import base64
import time

import jwt
import orjson

from tests.conftest import Harness


def forge(harness: Harness, **claims: object) -> str:
    base = {"sub": "nobody", "aud": "staff", "iat": int(time.time()), "exp": int(time.time()) + 600,
            "jti": "j1", "fam": "f1", "roles": ["admin"]}
    base.update(claims)
    return jwt.encode(base, harness.ctx.settings.jwt_secret, algorithm="HS256")


async def login(harness: Harness, username: str, password: str | None = None):
    return await harness.client.post("/api/v1/auth/login",
                                     {"username": username, "password": password or f"{username}@Demo2026"})


async def test_staff_login_and_me(harness: Harness) -> None:
    resp = await login(harness, "center")
    assert resp.status == 200
    assert set(resp.body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert resp.body["token_type"] == "Bearer" and resp.body["expires_in"] == 900
    me = await harness.client.as_(resp.body["access_token"]).get("/api/v1/me")
    assert me.status == 200
    assert me.body["username"] == "center" and me.body["roles"] == ["mailbox_center"]
    assert me.body["department"] == "qd-mailbox" and me.body["department_name"] == "市政府信箱办公室"
    assert "password_hash" not in me.body and "password_hash" not in orjson.dumps(me.body).decode()


async def test_wrong_password(harness: Harness) -> None:
    """Throttling (delays, never a lock) is tested in tests/security/test_login_throttle.py."""
    resp = await login(harness, "housing", "wrong-password")
    assert resp.status == 401 and resp.error_code == "login_failed"
    assert resp.body["error"]["message"] == "用户名或密码错误"
    unknown = await login(harness, "no_such_user", "whatever-pass")
    assert unknown.status == 401 and unknown.error_code == "login_failed"
    assert (await login(harness, "housing")).status == 200


async def test_missing_and_malformed_tokens(harness: Harness) -> None:
    assert (await harness.client.get("/api/v1/me")).status == 401
    resp = await harness.client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert resp.status == 401 and resp.error_code == "unauthenticated"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = await harness.client.as_("not-a-jwt").get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_invalid"


async def test_expired_token(harness: Harness) -> None:
    token = forge(harness, iat=int(time.time()) - 1000, exp=int(time.time()) - 10)
    resp = await harness.client.as_(token).get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_expired"


async def test_wrong_audience(harness: Harness) -> None:
    staff_token = (await login(harness, "center")).body["access_token"]
    resp = await harness.client.as_(staff_token).get("/mp/v1/me")
    assert resp.status == 401 and resp.error_code == "token_invalid"
    citizen = await harness.citizen("li_si")
    resp = await harness.client.as_(citizen.token).get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_invalid"


async def test_alg_none_and_tampering_rejected(harness: Harness) -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(orjson.dumps({
        "sub": "x", "aud": "staff", "iat": int(time.time()), "exp": int(time.time()) + 600, "jti": "a",
        "roles": ["admin"]})).rstrip(b"=").decode()
    resp = await harness.client.as_(f"{header}.{payload}.").get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_invalid"
    other_key = jwt.encode({"sub": "x", "aud": "staff", "iat": int(time.time()), "exp": int(time.time()) + 600,
                            "jti": "a", "roles": ["admin"]}, "another-secret-that-is-long-enough-123456", algorithm="HS256")
    resp = await harness.client.as_(other_key).get("/api/v1/departments")
    assert resp.status == 401
    good = (await login(harness, "housing")).body["access_token"]
    head, body, sig = good.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["roles"] = ["admin"]
    raised = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    resp = await harness.client.as_(f"{head}.{raised}.{sig}").post(
        "/api/v1/departments", {"code": "evil", "name": "x", "kind": "department"})
    assert resp.status == 401
    assert (await harness.ctx.store.collection("departments").find_one({"_id": "evil"})) is None


async def test_logout_revokes_access_and_refresh(harness: Harness) -> None:
    pair = (await login(harness, "env")).body
    client = harness.client.as_(pair["access_token"])
    assert (await client.get("/api/v1/me")).status == 200
    assert (await client.post("/api/v1/auth/logout")).status == 204
    resp = await client.get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_revoked"
    resp = await harness.client.post("/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert resp.status == 401


async def test_revocation_reaches_another_process_within_seconds(harness: Harness) -> None:
    """A second RevocationList on the same Redis stands for another serving process."""
    from backend.auth.revocation import RevocationList

    other = RevocationList(harness.ctx.redis)
    follower = asyncio.create_task(other.follow())
    try:
        await asyncio.wait_for(other.synced.wait(), 5)
        pair = (await login(harness, "env")).body
        principal = harness.ctx.tokens.verify(pair["access_token"], "staff")
        assert not other.is_revoked(jti=principal.jti, family=principal.family, user_id=principal.user_id,
                                    issued_at=principal.issued_at)
        await harness.client.as_(pair["access_token"]).post("/api/v1/auth/logout")
        deadline = time.monotonic() + 3
        while not other.is_revoked(jti=principal.jti, family=principal.family, user_id=principal.user_id,
                                   issued_at=principal.issued_at):
            assert time.monotonic() < deadline, "revocation did not reach the other process"
            await asyncio.sleep(0.02)
    finally:
        follower.cancel()


async def test_refresh_rotates_and_reuse_revokes_family(harness: Harness) -> None:
    first = (await login(harness, "center")).body
    second = await harness.client.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status == 200 and second.body["refresh_token"] != first["refresh_token"]
    assert (await harness.client.as_(second.body["access_token"]).get("/api/v1/me")).status == 200
    # The old refresh token is presented again: a thief or a replay. The whole session ends.
    reuse = await harness.client.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert reuse.status == 401 and reuse.error_code == "token_revoked"
    later = await harness.client.post("/api/v1/auth/refresh", {"refresh_token": second.body["refresh_token"]})
    assert later.status == 401
    resp = await harness.client.as_(second.body["access_token"]).get("/api/v1/me")
    assert resp.status == 401 and resp.error_code == "token_revoked"


async def test_refresh_token_of_other_audience_refused(harness: Harness) -> None:
    pair = (await login(harness, "center")).body
    resp = await harness.client.post("/mp/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert resp.status == 401


async def test_citizen_login_me_and_refresh(harness: Harness) -> None:
    code = harness.wechat.register_login(openid="openid-wang", unionid="unionid-wang")
    resp = await harness.client.post("/mp/v1/auth/login", {"code": code})
    assert resp.status == 200, resp.body
    assert "session_key" not in orjson.dumps(resp.body).decode()
    me = await harness.client.as_(resp.body["access_token"]).get("/mp/v1/me")
    assert me.status == 200 and me.body["kind"] == "citizen" and me.body["roles"] == ["citizen"]
    again = harness.wechat.register_login(openid="openid-wang", unionid="unionid-wang")
    second = await harness.client.post("/mp/v1/auth/login", {"code": again})
    me2 = await harness.client.as_(second.body["access_token"]).get("/mp/v1/me")
    assert me2.body["id"] == me.body["id"], "the same WeChat user is the same citizen"
    refreshed = await harness.client.post("/mp/v1/auth/refresh", {"refresh_token": resp.body["refresh_token"]})
    assert refreshed.status == 200


async def test_citizen_login_errors_are_mapped(harness: Harness) -> None:
    resp = await harness.client.post("/mp/v1/auth/login", {"code": "never-issued"})
    assert resp.status == 401
    for errcode, status in ((45011, 429), (40226, 403), (-1, 503)):
        code = harness.wechat.register_login(openid="openid-x")
        harness.wechat.fail_next("/sns/jscode2session", errcode=errcode)
        resp = await harness.client.post("/mp/v1/auth/login", {"code": code})
        assert resp.status == status, (errcode, resp.body)
        assert resp.body["error"]["message"]


async def test_a_login_in_the_same_second_as_a_role_change_is_accepted(harness: Harness) -> None:
    """Issue times and revocation times compare at the same precision: a role change revokes the
    tokens issued before it, and a token issued just after it, in the same second, works."""
    admin = await harness.staff("admin")
    housing_id = (await admin.get("/api/v1/staff-users", params={"department": "qd-housing"})).body["items"][0]["id"]
    same_second = 0
    for turn in range(20):
        old = (await login(harness, "housing")).body["access_token"]
        began = time.time()
        changed = await admin.patch(f"/api/v1/staff-users/{housing_id}",
                                    {"roles": ["staff", "officer"] if turn % 2 == 0 else ["staff"]})
        assert changed.status == 200, changed.body
        fresh = await login(harness, "housing")
        ended = time.time()
        assert (await harness.client.as_(old).get("/api/v1/me")).error_code == "token_revoked"
        me = await harness.client.as_(fresh.body["access_token"]).get("/api/v1/me")
        assert me.status == 200, (turn, me.body)
        same_second += int(began) == int(ended)  # change and login certainly in one second
        if same_second >= 3:
            break
    assert same_second >= 1, "no turn fell within one second: the test proved nothing"
