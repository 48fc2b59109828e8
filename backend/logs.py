"""Logging: one JSON object per line on stderr; personal data never logged (handlers log ids).

Client addresses and query strings are personal data too (the README promises neither is
logged). Our handlers never log them; Tornado's own loggers do, e.g. "Malformed HTTP message
from <address>", by passing the connection's context or the request as an argument. The
``ClientAddressFilter`` on Tornado's loggers replaces any argument that carries a client
address (duck-typed: it has ``remote_ip``) with ``-``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

from backend.config import Settings

TORNADO_LOGGERS = ("tornado.access", "tornado.application", "tornado.general")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.name == "yzt.access":
            return record.getMessage()
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class ClientAddressFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_knows_address(arg) for arg in record.args):
            record.args = tuple("-" if _knows_address(arg) else arg for arg in record.args)
        return True


def _knows_address(value: Any) -> bool:
    return value is not None and hasattr(value, "remote_ip")


def redact_tornado_logs() -> None:
    """Idempotent: attach the filter to Tornado's loggers once per process."""
    for name in TORNADO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClientAddressFilter) for f in logger.filters):
            logger.addFilter(ClientAddressFilter())


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level_number)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    redact_tornado_logs()
