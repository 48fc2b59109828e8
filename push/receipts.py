"""Delivery receipts from WeChat onto the notifications' channel states.

The Official Account callback stores receipts in ``wechat_receipts`` and publishes nothing
(``backend/wechat/behaviours.py``). A periodic job here reads the ones it has not seen yet, in
id order from a cursor kept in Redis:

- ``template`` (TEMPLATESENDJOBFINISH): matched by WeChat's msgid, which the channel worker
  keeps in Redis (``keys.msg_id``, 3 days) and on the notification; ``success`` → delivered,
  anything else → failed with the status.
- ``subscribe_msg_sent_event``: the send API returns no msgid we can keep, so the receipt is
  matched to the user's latest unconfirmed subscribe message with that template.
- ``subscribe_msg_change_event`` with ``reject``: the user switched the template off in WeChat's
  settings: the quota / consent drops to 0.
- ``subscribe_msg_popup_event``: ignored: the mini-program reports the same answer through
  ``POST /mp/v1/subscriptions``, and counting both would double the quota.

Receipts younger than ``receipts_lag`` wait for the next round, so that one inserted a moment
later with a slightly smaller id (another process) is not jumped over.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from backend.clock import to_storage, utcnow
from backend.notifications import use_cases as inbox
from backend.notifications.queries import latest_unconfirmed_subscribe
from backend.notifications.schemas import Channel, ChannelState
from push import keys
from push.config import PushConfig
from push.recipients import user_id_by_openid

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

RECEIPTS = "wechat_receipts"
BATCH = 500


class ReceiptApplier:
    def __init__(self, ctx: "AppContext", config: PushConfig) -> None:
        self.ctx = ctx
        self.config = config

    async def apply_once(self) -> int:
        """Apply every receipt not seen yet; returns how many were read."""
        redis, receipts = self.ctx.redis, self.ctx.store.collection(RECEIPTS)
        total = 0
        while True:
            cursor: Any = await redis.get(keys.RECEIPTS_CURSOR)
            last = cursor.decode() if cursor else ""
            horizon = to_storage(utcnow() - timedelta(seconds=self.config.receipts_lag))
            batch = await receipts.find({"_id": {"$gt": last}, "created_at": {"$lte": horizon}},
                                        sort=[("_id", 1)], limit=BATCH)
            for receipt in batch:
                try:
                    await self.apply(receipt)
                except Exception:  # noqa: BLE001 - one odd receipt must not block the others
                    log.exception("push: receipt %s could not be applied", receipt.get("_id"))
            if batch:
                await redis.set(keys.RECEIPTS_CURSOR, batch[-1]["_id"])
            total += len(batch)
            if len(batch) < BATCH:
                return total

    async def apply(self, receipt: dict[str, Any]) -> None:
        kind = receipt.get("kind")
        store = self.ctx.store
        if kind == "template" and receipt.get("msg_id"):
            nid: Any = await self.ctx.redis.get(keys.msg_id(Channel.TEMPLATE.value, str(receipt["msg_id"])))
            if nid is not None:
                await self._confirm(nid.decode(), Channel.TEMPLATE.value, str(receipt.get("status") or ""),
                                    ok=receipt.get("status") == "success", at=receipt.get("event_time"))
            return
        if kind not in ("subscribe_msg_sent_event", "subscribe_msg_change_event") or not receipt.get("template_id"):
            return
        user_id = await user_id_by_openid(store, str(receipt.get("openid")))
        if user_id is None:
            return
        template_id = str(receipt["template_id"])
        if kind == "subscribe_msg_change_event":
            if receipt.get("status") == "reject":
                await inbox.exhaust_subscription(store, user_id, template_id)
            return
        doc = await latest_unconfirmed_subscribe(store, user_id, template_id)
        if doc is not None:
            await self._confirm(doc["_id"], Channel.SUBSCRIBE.value, str(receipt.get("status") or ""),
                                ok=str(receipt.get("error_code")) == "0", at=receipt.get("event_time"))

    async def _confirm(self, nid: str, channel: str, status: str, *, ok: bool, at: Any) -> None:
        state = ChannelState.DELIVERED if ok else ChannelState.FAILED
        await inbox.set_channel_fields(self.ctx.store, nid, channel, {
            "state": state.value, "receipt": status, "receipt_at": at, "reason": None if ok else status})
