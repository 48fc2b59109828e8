"""Domain events → inbox entries, delivery jobs and live messages.

Reads ``yzt:events`` in the consumer group ``push``. For each event with a rule it resolves the
recipients, writes every recipient's inbox entry (id derived from the event and the user, so a
redelivered event finds its entries instead of duplicating them), spends subscribe-message
quota, queues one job per outside channel on ``yzt:push:<channel>``, publishes the live
messages, and only then acknowledges the event. A crash anywhere before the ack redelivers the
event: the inbox is not duplicated, the jobs are (and the channel workers' send records drop
the copies). One known loss in that window: a quota unit spent just before a crash is spent
again on redelivery, which can only make us skip a send, never send without consent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from backend.clock import from_storage, now_stored, utcnow
from backend.events import DomainEvent
from backend.notifications import use_cases as inbox
from backend.notifications.queries import existing_notifications, notification_id, notification_out, preferences_for
from backend.notifications.schemas import Channel, ChannelState
from backend.store.interface import Document
from backend.streams import Entry, StreamConsumer
from backend.tasks import raise_if_cancelling
from push import keys
from push.channels.websocket import live_message, topic_message
from push.compose import Rendered, compose
from push.config import PushConfig
from push.jobs import Job
from push.recipients import official_account_openids, resolve_recipients
from push.rules import Rule, context, rule_for

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)

# KEYS: (stream, stats hash) per channel. ARGV[1]: JSON {"jobs": [[k, job], ...], "live": [[channel,
# message], ...]}: one argument, so the client does not encode thousands of them one by one.
_ENQUEUE = """
local batch = cjson.decode(ARGV[1])
local counts = {}
for _, item in ipairs(batch.jobs) do
  local k = item[1]
  redis.call('XADD', KEYS[2 * k - 1], '*', 'job', item[2])
  counts[k] = (counts[k] or 0) + 1
end
for k, count in pairs(counts) do
  redis.call('HINCRBY', KEYS[2 * k], 'enqueued', count)
end
for _, item in ipairs(batch.live) do
  redis.call('PUBLISH', item[1], item[2])
end
return #batch.jobs
"""


@dataclass
class Plan:
    """What one event becomes."""

    docs: list[Document] = field(default_factory=list)   # inbox entries to store
    jobs: list[Job] = field(default_factory=list)        # outside channels
    live: list[tuple[str, bytes]] = field(default_factory=list)  # (pub/sub channel, message)


def audience_of(user: Document) -> str:
    return "mp" if user.get("kind") == "citizen" else "staff"


class EventExpander(StreamConsumer):
    """The events consumer; run as an owned task (``run()``), one or more per deployment."""

    def __init__(self, ctx: "AppContext", config: PushConfig, *, consumer: str) -> None:
        super().__init__(ctx.redis, keys.EVENTS, group=keys.GROUP, dead_letters=keys.DEAD, consumer=consumer, batch=config.event_batch,
                         block_ms=config.block_ms, reclaim_interval=config.reclaim_interval,
                         min_idle_ms=config.min_idle_ms, max_deliveries=config.max_deliveries,
                         linger=config.event_linger)
        self.ctx = ctx
        self.config = config
        self._enqueue = ctx.redis.register_script(_ENQUEUE)

    async def handle(self, entries: list[Entry]) -> list[bytes]:
        """Plan every event of the batch, queue the jobs and publish the live messages in one
        script call, and return the entries to acknowledge (an event whose planning failed
        stays pending, and is retried when reclaimed)."""
        done: list[bytes] = []
        plans: list[Plan] = []
        for entry_id, fields in entries:
            try:
                event = DomainEvent.from_json(orjson.loads(fields[b"event"]))
                plan = await self.plan(event)
            except (KeyError, orjson.JSONDecodeError, TypeError, ValueError):
                log.error("push: unreadable event %s dropped", entry_id)
                done.append(entry_id)
                continue
            except Exception:
                raise_if_cancelling()
                log.exception("push: event %s failed; it will be retried", entry_id)
                continue
            if plan is not None:
                plans.append(plan)
            done.append(entry_id)
        await self.publish(plans)
        return done

    async def publish(self, plans: list[Plan]) -> None:
        """Every job and live message of the batch in one script call: one round trip, and no
        per-command client overhead for a department-wide notice of a thousand recipients."""
        jobs = [job for plan in plans for job in plan.jobs]
        live = [item for plan in plans for item in plan.live]
        if not jobs and not live:
            return
        channels = sorted({job.channel for job in jobs})
        index = {channel: position + 1 for position, channel in enumerate(channels)}
        script_keys = [key for channel in channels for key in (keys.stream(channel), keys.stats(channel))]
        batch = {"jobs": [[index[job.channel], job.encode().decode()] for job in jobs],
                 "live": [[target, message.decode()] for target, message in live]}
        await self._enqueue(keys=script_keys, args=[orjson.dumps(batch)])

    async def plan(self, event: DomainEvent) -> Plan | None:
        rule = rule_for(event.type)
        if rule is None:
            return None
        if self._too_old(event):
            log.info("push: event %s (%s) is too old to notify", event.id, event.type)
            return None
        store = self.ctx.store
        users = await resolve_recipients(store, event.recipients, actor=event.actor)
        values = context(event.to_json())
        rendered = {audience: compose(message, values) for audience in ("mp", "staff")
                    if (message := rule.message(audience)) is not None}
        users = [user for user in users if audience_of(user) in rendered]
        plan = Plan(live=[(keys.live_topic(topic), topic_message(topic, event.to_json())) for topic in _topics(event)]
                    if rule.topics else [])
        if not users:
            return plan
        preferences = await preferences_for(store, [user["_id"] for user in users])
        followers = await official_account_openids(
            store, [user["unionid"] for user in users if user.get("unionid") and "mp" in rendered
                    and rendered["mp"].template])
        ids = {user["_id"]: notification_id(event.id, user["_id"]) for user in users}
        stored = await existing_notifications(store, list(ids.values()))
        now = now_stored()
        decided: dict[str, dict[str, dict[str, Any]]] = {}
        spends: list[tuple[str, str]] = []  # (user id, template id) still to pay for
        for user in users:
            if ids[user["_id"]] not in stored:
                audience = audience_of(user)
                decided[user["_id"]] = self._decide(user, audience, rendered[audience], _mandatory(rule, audience),
                                                    preferences.get(user["_id"], {}), followers)
                if decided[user["_id"]].get(Channel.SUBSCRIBE.value, {}).get("state") == _UNPAID:
                    spends.append((user["_id"], decided[user["_id"]][Channel.SUBSCRIBE.value]["template_id"]))
        # Concurrently: the store runs them one by one, but the loop's hops overlap.
        long_term = self.ctx.settings.long_term_templates
        paid = await asyncio.gather(*(inbox.spend_subscription_unit(store, uid, template_id,
                                                                    long_term=template_id in long_term)
                                      for uid, template_id in spends))
        for (uid, _), ok in zip(spends, paid):
            subscribe = decided[uid][Channel.SUBSCRIBE.value]
            subscribe.update({"state": ChannelState.QUEUED.value} if ok else _skipped("no_quota"))
        for user in users:
            audience = audience_of(user)
            nid = ids[user["_id"]]
            if nid in stored:
                channels = stored[nid].get("channels") or {}
            else:
                channels = decided[user["_id"]]
                plan.docs.append(self._document(nid, user, audience, event, rendered[audience], channels, now))
            plan.jobs.extend(self._jobs(nid, user, event, rendered[audience], channels, followers))
        inserted = set(await inbox.bulk_insert_notifications(store, plan.docs))
        for doc in plan.docs:
            if doc["_id"] in inserted:
                plan.live.append((keys.live_user(doc["user_id"]), live_message(notification_out(doc))))
        return plan

    def _too_old(self, event: DomainEvent) -> bool:
        try:
            occurred = from_storage(event.occurred_at)
        except ValueError:
            return False
        return (utcnow() - occurred).total_seconds() > self.config.max_event_age

    @staticmethod
    def _decide(user: Document, audience: str, rendered: Rendered, mandatory: bool, switches: dict[str, bool],
                followers: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Each channel's first state for this recipient. A subscribe message that needs a
        quota unit is left ``_UNPAID``: the caller spends the units of the whole event at once."""
        channels: dict[str, dict[str, Any]] = {Channel.INBOX.value: {"state": ChannelState.DELIVERED.value},
                                               Channel.WEBSOCKET.value: {"state": ChannelState.SENT.value}}

        def wanted(channel: Channel) -> bool:
            return mandatory or switches.get(channel.value, True)

        if audience == "mp" and rendered.subscribe:
            template_id = rendered.subscribe["template_id"]
            if not user.get("openid"):
                state = _skipped("no_openid")
            elif not wanted(Channel.SUBSCRIBE):
                state = _skipped("opted_out")
            else:
                state = {"state": _UNPAID}
            channels[Channel.SUBSCRIBE.value] = {**state, "template_id": template_id}
        if audience == "mp" and rendered.template:
            if not followers.get(user.get("unionid") or ""):
                channels[Channel.TEMPLATE.value] = _skipped("not_follower")
            elif not wanted(Channel.TEMPLATE):
                channels[Channel.TEMPLATE.value] = _skipped("opted_out")
            else:
                channels[Channel.TEMPLATE.value] = {"state": ChannelState.QUEUED.value}
        if audience == "staff" and rendered.wecom_text:
            if not user.get("username"):
                channels[Channel.WECOM.value] = _skipped("no_account")
            elif not wanted(Channel.WECOM):
                channels[Channel.WECOM.value] = _skipped("opted_out")
            else:
                channels[Channel.WECOM.value] = {"state": ChannelState.QUEUED.value}
        return channels

    @staticmethod
    def _document(nid: str, user: Document, audience: str, event: DomainEvent, rendered: Rendered,
                  channels: dict[str, dict[str, Any]], now: str) -> Document:
        return {"_id": nid, "user_id": user["_id"], "audience": audience, "type": event.type,
                "event_id": event.id, "subject": event.subject.to_json(), "title": rendered.title,
                "body": rendered.body, "link": rendered.link, "read_at": None, "channels": channels,
                "version": 1, "created_at": now, "updated_at": now}

    @staticmethod
    def _jobs(nid: str, user: Document, event: DomainEvent, rendered: Rendered,
              channels: dict[str, dict[str, Any]], followers: dict[str, str]) -> list[Job]:
        def queued(channel: Channel) -> bool:
            return (channels.get(channel.value) or {}).get("state") == ChannelState.QUEUED

        jobs = []
        common = {"notification_id": nid, "user_id": user["_id"], "event_type": event.type}
        if queued(Channel.SUBSCRIBE) and rendered.subscribe and user.get("openid"):
            jobs.append(Job(channel=Channel.SUBSCRIBE.value, to=user["openid"], payload=rendered.subscribe, **common))
        oa_openid = followers.get(user.get("unionid") or "")
        if queued(Channel.TEMPLATE) and rendered.template and oa_openid:
            jobs.append(Job(channel=Channel.TEMPLATE.value, to=oa_openid, payload=rendered.template, **common))
        if queued(Channel.WECOM) and rendered.wecom_text and user.get("username"):
            jobs.append(Job(channel=Channel.WECOM.value, to=user["username"], payload={"text": rendered.wecom_text},
                            **common))
        return jobs


def _mandatory(rule: Rule, audience: str) -> bool:
    message = rule.message(audience)
    return message is not None and message.mandatory


_UNPAID = "unpaid"


def _skipped(reason: str) -> dict[str, Any]:
    return {"state": ChannelState.SKIPPED.value, "reason": reason}


def _topics(event: DomainEvent) -> list[str]:
    """Live topics the event is shown on: the departments and roles it names."""
    return sorted({recipient.key for recipient in event.recipients if recipient.kind in ("department", "role")})
