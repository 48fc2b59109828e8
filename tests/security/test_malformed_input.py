"""Malformed cursors and oversized headers are 400s (or 431), never 500s; and no log line carries
a client address or a query string (issue 9, item 10)."""

from __future__ import annotations

import asyncio
import base64
import logging
import zlib

import orjson
import pytest
import tornado.websocket

import backend.mailbox.queries
from tests.conftest import ApiClient, Harness
from tests.mailbox.conftest import write_letter


def cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fingerprint(*sort: tuple[str, int]) -> int:
    """The pagination module's sort fingerprint, so that a forged cursor gets past that check."""
    return zlib.crc32(",".join(f"{field}:{direction}" for field, direction in sort).encode())


BY_ID = fingerprint(("_id", -1))
BY_TIME = fingerprint(("created_at", -1), ("_id", -1))
BAD_CURSORS = {
    "not base64": "!!!***",
    "odd padding": "A",
    "only padding": "====",
    "not ascii": "游标游标",
    "not utf-8 inside": cursor(b"\xff\xfe\xfd\xfc"),
    "not json": cursor(b"{oops"),
    "deep nesting": cursor(b"[" * 5000 + b"]" * 5000),
    "lone surrogate": cursor(b'[%d, "\\ud800"]' % BY_ID),
    "wrong fingerprint": cursor(orjson.dumps([1, "x"])),
    "an object": cursor(orjson.dumps({"a": 1})),
    "beyond 64 bits": cursor(b'[%d, 18446744073709551615, "a"]' % BY_TIME),
    "a 64-bit float": cursor(b'[%d, 1e400, "a"]' % BY_TIME),
    "a non-string id": cursor(orjson.dumps([BY_ID, 12])),
    "huge": "A" * 20_000,  # within the header limit
}


async def test_malformed_cursors_are_400(harness: Harness) -> None:
    citizen, center = await harness.citizen("li_si"), await harness.staff("center")
    await write_letter(citizen)
    lists: list[tuple[ApiClient, str]] = [
        (center, "/api/v1/letters"), (center, "/api/v1/notifications"), (await harness.staff("admin"), "/api/v1/staff-users"),
        (citizen, "/mp/v1/letters"), (citizen, "/mp/v1/notifications"), (harness.client, "/mp/v1/public/letters")]
    failures = []
    for name, value in BAD_CURSORS.items():
        for client, path in lists:
            resp = await client.get(path, params={"cursor": value})
            if resp.status != 400 or resp.error_code != "validation_failed":
                failures.append((name, path, resp.status, resp.error_code))
    for raw in ("%FF%FE", "%00", "%C0%AF"):  # not UTF-8 at all, before any decoding of ours
        resp = await harness.client.request("GET", f"/mp/v1/public/letters?cursor={raw}")
        if resp.status != 400:
            failures.append((raw, "/mp/v1/public/letters", resp.status, resp.error_code))
    assert not failures, "\n".join(map(str, failures))


async def test_oversized_if_match_is_400(harness: Harness) -> None:
    citizen, center = await harness.citizen("li_si"), await harness.staff("center")
    letter = await write_letter(citizen)
    for value in ("9" * 5000, 'W/"' + "1" * 4400 + '"', "9" * 30, "١٢"):
        resp = await center.post(f"/api/v1/letters/{letter['id']}/dispatch", {"lead_department": "qd-env"},
                                 headers={"If-Match": value})
        assert resp.status == 400 and resp.error_code == "validation_failed", (value[:12], resp.status)
    assert (await center.get(f"/api/v1/letters/{letter['id']}")).body["state"] == letter["state"]


async def raw_exchange(harness: Harness, request: bytes) -> bytes:
    port = int(harness.client.base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


@pytest.mark.parametrize("size", [70_000, 300_000])
async def test_headers_beyond_the_limit_get_431(harness: Harness, size: int) -> None:
    request = (b"GET /healthz HTTP/1.1\r\nHost: yzt\r\nX-Padding: " + b"a" * size + b"\r\n\r\n")
    answer = await raw_exchange(harness, request)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert orjson.loads(body)["error"]["code"] == "headers_too_large"
    assert (await harness.client.get("/healthz")).status == 200  # and it keeps serving


async def test_no_log_line_names_the_client_or_the_query(harness: Harness, caplog: pytest.LogCaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("yzt.access").setLevel(logging.INFO)
    caplog.clear()
    # Tornado's own refusals of malformed HTTP ("Malformed HTTP message from <address>").
    for request in (b"GET /healthz?secret-query=1 HTTP/1.1\r\nHost: yzt\r\nContent-Length: abc\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", b"BROKEN\r\n\r\n"):
        assert (await raw_exchange(harness, request)).startswith(b"HTTP/1.1 400 ")
    # A WebSocket handshake Tornado refuses (bad UTF-8 in the query: "400 GET /ws?token=… (<address>)").
    url = harness.client.base.replace("http://", "ws://") + "/ws?token=%FF%FEsecret-query"
    try:
        socket = await tornado.websocket.websocket_connect(url)
        assert await socket.read_message() is None  # refused after the upgrade, or:
    except tornado.httpclient.HTTPClientError as refused:  # before it (what this server does)
        assert refused.code == 400

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the search engine broke")

    # An unexpected error: Tornado would log the request line and its repr (URI, remote_ip).
    monkeypatch.setattr(backend.mailbox.queries, "list_public_letters", broken)
    failed = await harness.client.get("/mp/v1/public/letters", params={"q": "secret-query"})
    assert failed.status == 500 and failed.error_code == "internal_error"
    lines = [record.getMessage() for record in caplog.records] + [caplog.text]
    for line in lines:
        assert "127.0.0.1" not in line and "secret-query" not in line, line
    assert any("uncaught exception" in line and failed.body["error"]["details"]["request_id"] in line
               for line in lines), "the 500 is logged, findable by its request id"
