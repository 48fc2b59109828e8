"""Starting the push service: inside ``yzt serve`` (``start_push``) or as a ``yzt worker``
process of its own (``run_worker``) to scale delivery out. Every process that runs it joins the
same consumer groups, so adding workers needs no coordination."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from backend.config import Settings
from backend.jobs import run_every
from backend.streams import consumer_name, ensure_group
from push import keys
from push.channels import Sender
from push.channels.subscribe import SubscribeChannel
from push.channels.template import TemplateChannel
from push.channels.wecom import WeComChannel
from push.config import PushConfig
from push.delivery import ChannelWorker
from push.expander import EventExpander
from push.receipts import ReceiptApplier

if TYPE_CHECKING:
    from backend.bootstrap import AppContext

log = logging.getLogger(__name__)


def senders(ctx: "AppContext", config: PushConfig) -> dict[str, Sender]:
    available: dict[str, Sender] = {s.name: s for s in (SubscribeChannel(ctx, config), TemplateChannel(ctx, config),
                                                        WeComChannel(ctx, config))}
    return {name: available[name] for name in config.channels}


async def start_push(ctx: "AppContext", config: PushConfig | None = None) -> None:
    """Create the consumer groups, then spawn (owned by ``ctx``): the events consumer,
    ``workers_per_channel`` workers per channel, and the receipts job. Returns at once."""
    config = config or PushConfig.from_settings(ctx.settings)
    for stream in (keys.EVENTS, *(keys.stream(name) for name in config.channels)):
        await ensure_group(ctx.redis, stream, keys.GROUP)
    ctx.spawn(EventExpander(ctx, config, consumer=consumer_name("events")).run(), name="push-events")
    for name, sender in senders(ctx, config).items():
        for index in range(config.workers_per_channel):
            worker = ChannelWorker(ctx, config, sender, consumer=consumer_name(name, index))
            ctx.spawn(worker.run(), name=f"push-{name}-{index}")
    receipts = ReceiptApplier(ctx, config)
    ctx.spawn(run_every(config.receipts_interval, receipts.apply_once, "push-receipts"), name="push-receipts")
    log.info("push started: channels %s, %d worker(s) each", ", ".join(config.channels), config.workers_per_channel)


async def run_worker(settings: Settings, config: PushConfig | None = None) -> None:
    """``yzt worker``: the push service without the HTTP server, until SIGTERM or SIGINT."""
    from backend.bootstrap import bootstrap  # noqa: PLC0415 - bootstrap imports the module registry

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bootstrap(settings, background=True) as ctx:
            await start_push(ctx, config)
            log.info("yzt worker running")
            await stop.wait()
            log.info("yzt worker stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
