"""``yzt init-demo`` and ``yzt create-user`` while ``yzt serve`` runs on the same data directory
(the README's quick start gives exactly that order).

Proves: the commands use the server's running redis-server instead of taking it for a stale one
(it keeps its pid, and nothing of theirs is left behind); afterwards ``/healthz`` is ok and a write
that needs Redis works (a logout reaches the revocation stream that other processes follow).
"""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
import redis

from backend.auth.revocation import STREAM as REVOCATIONS
from tests.infra.procs import ROOT, alive, redis_servers_under, wait_until
from tests.infra.test_cli import PASSWORD, USER, cli, healthy, http, serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_readme_quick_start_serves_first_then_adds_demo_data() -> None:
    """The order this file tests is the README's."""
    quick_start = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1].split("\n## ", 1)[0]
    serve, demo = quick_start.find("yzt serve"), quick_start.find("yzt init-demo")
    assert 0 <= serve < demo, "the README's quick start no longer starts the server before init-demo"


def test_init_demo_and_create_user_while_serving_keep_its_redis(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir) as served:
        [redis_pid] = redis_servers_under(data_dir)

        demo = cli("init-demo", data_dir=data_dir)
        assert demo.returncode == 0, demo.stderr
        assert "center@Demo2026" in demo.stdout
        user = cli("create-user", "--username", USER, "--password", PASSWORD, "--role", "staff",
                   "--department", "qd-env", data_dir=data_dir)
        assert user.returncode == 0, user.stderr

        # The server's Redis was used, not replaced: same process, nothing else started or left.
        assert alive(redis_pid) and redis_servers_under(data_dir) == [redis_pid]
        log = served.log.read_text()
        assert "stale" not in log and "redis-server" not in log, log
        # ok, within the time the server takes to absorb the demo data's events on a loaded machine
        assert wait_until(lambda: healthy(served.base), 15), "yzt serve is not healthy after the commands"

        # Both commands' data serve at once.
        token = served.login()
        status, me = http("GET", f"{served.base}/api/v1/me", token=token)
        assert status == 200 and me["department"] == "qd-env", me
        status, body = http("POST", f"{served.base}/api/v1/auth/login",
                            {"username": "center", "password": "center@Demo2026"})
        assert status == 200, body

        # A write that needs Redis: the logout is published on the stream other processes follow.
        assert http("POST", f"{served.base}/api/v1/auth/logout", token=token)[0] == 204
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"), socket_timeout=2)
        try:
            def published() -> bool:
                return any(fields.get(b"value") == jti.encode() for _id, fields in client.xrange(REVOCATIONS))
            assert wait_until(published, 10), "the logout did not reach the revocation stream"
        finally:
            client.close()
        assert http("GET", f"{served.base}/api/v1/me", token=token)[0] == 401
        assert wait_until(lambda: healthy(served.base), 15), "yzt serve is not healthy after the logout"
