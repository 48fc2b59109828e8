"""Hardening (issue 9, item 11): no version banner, metrics not public, HSTS when behind TLS."""

from __future__ import annotations

import requests
import tornado.websocket

from tests.conftest import Harness
from tests.security.conftest import BareServer, Variants

METRICS_TOKEN = "metrics-scraper-token-0123456789"


async def test_no_server_header_anywhere(harness: Harness) -> None:
    citizen = await harness.citizen("li_si")
    responses = [
        await harness.client.get("/healthz"), await harness.client.get("/no/such/path"),
        await harness.client.get("/api/v1/me"), await harness.client.request("TRACE", "/healthz"),
        await citizen.get("/mp/v1/me"), await harness.client.post("/api/v1/auth/login", {"username": "x"}),
    ]
    for resp in responses:
        assert "Server" not in resp.headers, (resp.status, resp.headers.get("Server"))
    socket = await tornado.websocket.websocket_connect(
        harness.client.base.replace("http://", "ws://") + f"/ws?token={citizen.token}")
    assert "Server" not in socket.headers  # the 101 of the handshake
    socket.close()


async def test_metrics_are_not_public_by_default(harness: Harness) -> None:
    resp = await harness.client.get("/metrics")
    assert resp.status == 404 and resp.error_code == "not_found"
    admin = await harness.staff("admin")  # not even for staff: metrics are for the scraper
    assert (await admin.get("/metrics")).status == 404


async def test_metrics_behind_a_bearer_token(harness: Harness, variants: Variants) -> None:
    served = await variants.serve(metrics_token=METRICS_TOKEN)
    await served.get("/api/v1/me")
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {METRICS_TOKEN}"}):
        refused = await served.get("/metrics", headers=headers)
        assert refused.status == 401 and refused.error_code == "metrics_token_required"
    metrics = await served.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status == 200
    text = metrics.body.decode()
    assert 'yzt_http_requests_total{method="GET",route="/api/v1/me",status="401"}' in text
    assert "yzt_http_request_duration_seconds_bucket" in text


def test_metrics_on_a_separate_listener(bare_server: BareServer) -> None:
    assert requests.get(bare_server.base + "/healthz", timeout=5).status_code == 200
    assert requests.get(bare_server.base + "/metrics", timeout=5).status_code == 404
    scraped = requests.get(bare_server.metrics_base + "/metrics", timeout=5)
    assert scraped.status_code == 200 and 'route="/healthz"' in scraped.text
    assert "Server" not in scraped.headers
    assert requests.get(bare_server.metrics_base + "/healthz", timeout=5).status_code == 404  # metrics only


async def test_hsts_only_when_configured(harness: Harness, variants: Variants) -> None:
    assert "Strict-Transport-Security" not in (await harness.client.get("/healthz")).headers
    behind_tls = await variants.serve(hsts_seconds=31_536_000)
    for path in ("/healthz", "/no/such/path", "/api/v1/me"):
        assert (await behind_tls.get(path)).headers["Strict-Transport-Security"] == "max-age=31536000"
