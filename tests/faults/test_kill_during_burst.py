"""kill -9 of ``yzt serve`` during a burst of letter submissions sent with Idempotency-Keys.

The citizen's app retries every request that got no answer (same key, same body) once the
server is back. Afterwards every submission that was acknowledged exists exactly once, every
key produced exactly one letter, and nothing acknowledged was lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson
import pytest

from backend.wechat.fake_server import FakeWeChat
from tests.conftest import ApiClient, Response
from tests.faults.conftest import (
    Server,
    all_my_letters,
    citizen_token,
    eventually,
    fake_settings,
    integrity,
    letter,
    new_key,
    store_rows,
    stored_letters,
)

pytestmark = pytest.mark.slow

BURST = 200
CONCURRENCY = 20
KILL_AFTER = 60  # acknowledged submissions before the kill -9
RETRY_FOR = 40.0  # seconds a retried request may keep getting 409 request_in_progress


async def submit(citizen: ApiClient, key: str, body: dict[str, Any]) -> Response | None:
    """One submission; None when no answer came (connection refused or cut by the kill)."""
    try:
        return await citizen.post("/mp/v1/letters", body, headers={"Idempotency-Key": key})
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return None


async def retry_until_answered(citizen: ApiClient, key: str, body: dict[str, Any]) -> tuple[Response, int]:
    """The app's retry loop: again while there is no answer or the first attempt's claim is
    still leased (409 request_in_progress, honouring Retry-After); (final answer, 409s seen)."""
    deadline = time.monotonic() + RETRY_FOR
    in_progress = 0
    while True:
        resp = await submit(citizen, key, body)
        if resp is not None and resp.error_code != "request_in_progress":
            return resp, in_progress
        if resp is not None:
            in_progress += 1
        assert time.monotonic() < deadline, f"{key}: still unanswered after {RETRY_FOR} s ({resp and resp.body})"
        wait = float(resp.headers.get("Retry-After", 0.5)) if resp is not None else 0.2
        await asyncio.sleep(min(max(wait, 0.1), 2.0))


async def test_kill_9_during_a_burst_loses_nothing_and_creates_nothing_twice(tmp_path, fake_wechat: FakeWeChat) -> None:
    data_dir = tmp_path / "data"
    settings = fake_settings(data_dir, fake_wechat)
    server = Server(settings).start()
    restarted: Server | None = None
    timings: dict[str, float] = {}
    try:
        await server.wait_ready()
        timeout = aiohttp.ClientTimeout(total=20)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
            citizen = ApiClient(server.base, session).as_(
                await citizen_token(ApiClient(server.base, session), fake_wechat, "burst"))
            keys = [new_key() for _ in range(BURST)]
            bodies = {key: letter(n) for n, key in enumerate(keys)}

            # --- the burst, and kill -9 once KILL_AFTER submissions were acknowledged ----------
            answers: dict[str, Response | None] = {}
            todo = list(keys)
            started = time.monotonic()

            async def sender() -> None:
                while todo:
                    key = todo.pop(0)
                    resp = await submit(citizen, key, bodies[key])
                    answers[key] = resp
                    acknowledged = sum(1 for r in answers.values() if r is not None and r.status < 300)
                    if acknowledged >= KILL_AFTER and server.proc is not None and server.proc.poll() is None:
                        server.kill()
                        timings["killed_after_s"] = time.monotonic() - started

            await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
            acked = {key: resp for key, resp in answers.items() if resp is not None}
            unanswered = [key for key in keys if answers[key] is None]
            assert all(resp.status == 201 for resp in acked.values()), \
                Counter((r.status, r.error_code) for r in acked.values())
            assert KILL_AFTER <= len(acked) < BURST and unanswered, (len(acked), len(unanswered))

            # What the crash left: claims still pending, and how many of them had committed the letter.
            pending = [orjson.loads(doc) for (doc,) in store_rows(
                data_dir, "SELECT doc FROM idempotency_keys WHERE json_extract(doc, '$.state') = 'pending'")]
            letter_ids = {row[0] for row in store_rows(data_dir, "SELECT _id FROM letters")}
            committed_unacked = sum(1 for claim in pending if claim["reserved_id"] in letter_ids)

            # --- restart on the same data directory and port, retry every unanswered request ---
            restart_at = time.monotonic()
            restarted = Server(settings, port=server.port).start()
            await restarted.wait_ready()
            timings["restart_s"] = time.monotonic() - restart_at
            retry_at = time.monotonic()
            limit = asyncio.Semaphore(CONCURRENCY)

            async def retry(key: str) -> tuple[str, Response, int]:
                async with limit:
                    return (key, *await retry_until_answered(citizen, key, bodies[key]))

            retried = await asyncio.gather(*(retry(key) for key in unanswered))
            timings["retries_s"] = time.monotonic() - retry_at
            in_progress_409s = sum(n for _key, _resp, n in retried)
            for key, resp, _n in retried:
                assert resp.status == 201, (key, resp.status, resp.body)
                acked[key] = resp

            # An acknowledged key sent again replays its first answer.
            for key in keys[:5]:
                again = await submit(citizen, key, bodies[key])
                assert again is not None and again.status == 201 and again.body["id"] == acked[key].body["id"]
                assert again.headers.get("Idempotent-Replayed") == "true"

            # --- every key has exactly one letter, every letter belongs to exactly one key --------
            id_of = {key: resp.body["id"] for key, resp in acked.items()}
            assert len(id_of) == BURST
            assert len(set(id_of.values())) == BURST, "two keys were answered with the same letter"
            for key, resp in acked.items():
                assert resp.body["title"] == bodies[key]["title"], (key, resp.body["title"])
            listed = await all_my_letters(citizen)
            assert Counter(item["id"] for item in listed) == Counter(id_of.values())
            tracking = [item["tracking_no"] for item in listed]
            assert len(set(tracking)) == len(tracking) == BURST

            # The relay publishes what the crash left in the outbox.
            def outbox_drained() -> bool:
                rows = store_rows(data_dir, "SELECT count(*) FROM letters WHERE json_extract(doc, '$._outbox_pending')")
                return rows[0][0] == 0
            await eventually(outbox_drained, 15, "the letters' events leave the outbox", interval=0.2)

        assert restarted.terminate() == 0, restarted.log_tail()

        # --- the store file, read directly after the server stopped ----------------------------
        assert integrity(data_dir) == "ok"
        stored = stored_letters(data_dir)
        assert Counter(doc["_id"] for doc in stored) == Counter(id_of.values())
        assert len({doc["tracking_no"] for doc in stored}) == BURST
        assert {doc["title"] for doc in stored} == {body["title"] for body in bodies.values()}
        claims = store_rows(data_dir, "SELECT json_extract(doc, '$.state'), count(*) FROM idempotency_keys GROUP BY 1")
        assert dict(claims) == {"done": BURST}
        # Every letter can be found by search, including those whose first attempt died after the insert.
        indexed = store_rows(data_dir, "SELECT doc_id FROM _search_letters")
        assert Counter(doc_id for (doc_id,) in indexed) == Counter(id_of.values())
        print(f"\nburst: {len(answers) - len(unanswered)} answered before the kill "
              f"(after {timings['killed_after_s']:.2f} s), {len(unanswered)} unanswered, of which "
              f"{committed_unacked} had committed their letter; restart {timings['restart_s']:.2f} s, "
              f"retries {timings['retries_s']:.2f} s with {in_progress_409s} x 409 request_in_progress")
    finally:
        server.cleanup()
        if restarted is not None:
            restarted.cleanup()

