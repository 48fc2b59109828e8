"""Personal data at rest: sealed phone numbers and WeChat session keys, checked on the raw SQLite
rows and file bytes; plain text of an earlier version sealed on start; key rotation; and a private
data directory (0700 / 0600) whatever the umask the process started with."""

from __future__ import annotations

import base64
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.personal_data import PersonalData
from backend.rediskit.embedded import EmbeddedRedis
from backend.store.factory import SQLITE_FILENAME
from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Harness, demo_settings, make_settings, running_app
from tests.mailbox.conftest import PNG, write_letter
from tests.official_account.test_official_account_http import legacy_phone_blob

PHONE, LEGACY_PHONE, OLD_PHONE = "13912345678", "13700001111", "13812345678"
SESSION_KEY = base64.b64encode(b"sixteen byte key").decode()
KEY_A, KEY_B, KEY_C = "a" * 40, "b" * 40, "c" * 40


def raw_rows(data_dir: Path) -> str:
    """Every document of every table, read with sqlite3 itself (not through the store)."""
    with sqlite3.connect(f"file:{data_dir / SQLITE_FILENAME}?mode=ro", uri=True) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(str(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"'))


def raw_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in data_dir.glob(f"{SQLITE_FILENAME}*"))


async def citizen_with_session_key(app: Harness, name: str) -> ApiClient:
    code = app.wechat.register_login(openid=f"openid-{name}", unionid=f"unionid-{name}", session_key=SESSION_KEY)
    resp = await app.client.post("/mp/v1/auth/login", {"code": code})
    assert resp.status == 200, resp.body
    return app.client.as_(resp.body["access_token"])


async def test_phone_and_session_key_are_sealed_in_the_raw_store(harness: Harness) -> None:
    citizen = await citizen_with_session_key(harness, "zhou")
    bound = await citizen.post("/mp/v1/me/phone", {"code": harness.wechat.register_phone(PHONE, openid="openid-zhou")})
    assert bound.status == 200 and bound.body["phone"] == "139****5678", bound.body
    data, iv = legacy_phone_blob(SESSION_KEY, harness.ctx.settings.mp_appid, LEGACY_PHONE)
    legacy = await citizen.post("/mp/v1/me/phone", {"encrypted_data": data, "iv": iv})
    assert legacy.status == 200 and legacy.body["phone"] == "137****1111", "the sealed session_key still opens"
    data_dir = harness.ctx.settings.data_dir
    rows = raw_rows(data_dir)
    for secret in (PHONE, LEGACY_PHONE, SESSION_KEY):
        assert secret not in rows
        assert secret.encode() not in raw_bytes(data_dir)
    doc = await harness.ctx.store.collection("users").find_one({"openid": "openid-zhou"})
    assert doc["phone"].startswith("pd1.")
    assert doc["phone_hash"] == harness.ctx.personal_data.lookup_hash("+86 137-0000-1111", kind="phone")
    session = await harness.ctx.store.collection("wechat_sessions").find_one({"_id": doc["_id"]})
    assert session["session_key"].startswith("pd1.")


async def test_a_letters_contact_phone_is_sealed_and_shown_to_its_handlers(harness: Harness, center) -> None:
    citizen = await harness.citizen("qian")
    letter = await write_letter(citizen, contact_phone=PHONE, content="小区门口的路灯坏了一个多月，晚上出行很不方便，请尽快维修。")
    assert letter["contact_phone"] == PHONE  # the writer sees their own number
    rows = raw_rows(harness.ctx.settings.data_dir)
    assert PHONE not in rows and PHONE.encode() not in raw_bytes(harness.ctx.settings.data_dir)
    stored = await harness.ctx.store.collection("letters").find_one({"_id": letter["id"]})
    assert stored["contact_phone"].startswith("pd1.")
    assert (await center.get(f"/api/v1/letters/{letter['id']}")).body["contact_phone"] == PHONE


async def test_plain_text_of_an_earlier_version_is_sealed_on_start(
        tmp_path: Path, demo_data_dir: Path, redis_server: EmbeddedRedis, fake_wechat: FakeWeChat) -> None:
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat)
    async with running_app(settings, fake_wechat) as app:
        citizen = await citizen_with_session_key(app, "wu")
        user_id = (await citizen.get("/mp/v1/me")).body["id"]
        # what an earlier version wrote: plain text, straight into the store
        await app.ctx.store.collection("users").update_one({"_id": user_id}, {"$set": {"phone": OLD_PHONE}})
        await app.ctx.store.collection("wechat_sessions").update_one(
            {"_id": user_id}, {"$set": {"session_key": SESSION_KEY}})
    assert OLD_PHONE in raw_rows(settings.data_dir)
    async with running_app(settings, fake_wechat) as app:
        rows = raw_rows(settings.data_dir)
        assert OLD_PHONE not in rows and SESSION_KEY not in rows
        citizen = ApiClient(app.client.base, app.client.session, citizen.token)  # the token outlives the restart
        me = await citizen.get("/mp/v1/me")
        assert me.status == 200 and me.body["phone"] == "138****5678", me.body
        sealed = await app.ctx.store.collection("users").find_one({"_id": user_id})
        assert sealed["phone_hash"] == app.ctx.personal_data.lookup_hash(OLD_PHONE, kind="phone")
        data, iv = legacy_phone_blob(SESSION_KEY, settings.mp_appid, LEGACY_PHONE)
        legacy = await citizen.post("/mp/v1/me/phone", {"encrypted_data": data, "iv": iv})
        assert legacy.status == 200, "the migrated session_key opens"
        sealed = await app.ctx.store.collection("users").find_one({"_id": user_id})
    async with running_app(settings, fake_wechat) as app:  # idempotent: a sealed value is left alone
        again = await app.ctx.store.collection("users").find_one({"_id": user_id})
        assert again["phone"] == sealed["phone"] and again["version"] == sealed["version"]
    assert OLD_PHONE.encode() not in raw_bytes(settings.data_dir), "no plain copy left in the file's free space"


async def test_key_rotation_reseals_with_the_new_key(tmp_path: Path, demo_data_dir: Path,
                                                     redis_server: EmbeddedRedis, fake_wechat: FakeWeChat) -> None:
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat, data_key=KEY_A)
    async with running_app(settings, fake_wechat) as app:
        citizen = await citizen_with_session_key(app, "zheng")
        code = app.wechat.register_phone(PHONE, openid="openid-zheng")
        assert (await citizen.post("/mp/v1/me/phone", {"code": code})).status == 200
        token = citizen.token
    rotated = settings.replace(data_key=KEY_B, previous_data_key=KEY_A)
    async with running_app(rotated, fake_wechat) as app:
        doc = await app.ctx.store.collection("users").find_one({"openid": "openid-zheng"})
        assert doc["phone"].startswith(PersonalData(KEY_B).current_prefix)
        assert doc["phone_hash"] == PersonalData(KEY_B).lookup_hash(PHONE, kind="phone")
        session = await app.ctx.store.collection("wechat_sessions").find_one({"_id": doc["_id"]})
        assert session["session_key"].startswith(PersonalData(KEY_B).current_prefix)
    async with running_app(settings.replace(data_key=KEY_B), fake_wechat) as app:  # the old key retired
        me = await ApiClient(app.client.base, app.client.session, token).get("/mp/v1/me")
        assert me.status == 200 and me.body["phone"] == "139****5678"
    async with running_app(settings.replace(data_key=KEY_C), fake_wechat) as app:  # a wrong key: refused, clearly
        me = await ApiClient(app.client.base, app.client.session, token).get("/mp/v1/me")
        assert me.status == 503 and me.error_code == "personal_data_unreadable", me.body


def modes(root: Path) -> dict[str, str]:
    """Every entry under root (and root) that is not private: path → octal mode."""
    loose = {}
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) != wanted:
            loose[str(path.relative_to(root))] = oct(stat.S_IMODE(mode))
    return loose


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


async def test_data_directory_is_private_whatever_the_umask(umask: int, tmp_path: Path,
                                                            fake_wechat: FakeWeChat) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = fake_wechat.apply(make_settings(data_dir, "", fake_wechat.url))  # embedded redis-server in it
    async with running_app(settings, fake_wechat) as app:
        citizen = await citizen_with_session_key(app, "feng")
        assert (await citizen.post("/mp/v1/me/phone", {
            "code": app.wechat.register_phone(PHONE, openid="openid-feng")})).status == 200
        upload = await citizen.post("/mp/v1/files", raw=PNG, headers={"Content-Type": "image/png"})
        assert upload.status == 201, upload.body
        await app.ctx.redis.bgrewriteaof()
        present = {path.name for path in data_dir.rglob("*")}
        assert {SQLITE_FILENAME, f"{SQLITE_FILENAME}-wal", f"{SQLITE_FILENAME}-shm", "jwt_secret.secret",
                "data_key.secret", "redis.sock", "redis.pid", "appendonly.aof", upload.body["file_id"][2:]} <= present
        assert modes(data_dir) == {}, f"umask {umask:o}"
    assert modes(data_dir) == {}


async def test_an_existing_data_directory_is_made_private_on_start(
        tmp_path: Path, demo_data_dir: Path, redis_server: EmbeddedRedis, fake_wechat: FakeWeChat) -> None:
    settings = demo_settings(tmp_path, demo_data_dir, redis_server, fake_wechat)
    for path in [settings.data_dir, *settings.data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # as an earlier version left it
    assert modes(settings.data_dir)
    async with running_app(settings, fake_wechat):
        assert modes(settings.data_dir) == {}
