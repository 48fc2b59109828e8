"""The HTTP server: Tornado's, closing connections the way a client can read the answer.

Two edges of the protocol are handled here rather than dropped:

- A request is often answered before its body is read: a refused upload (401/413, see
  ``backend/http/base.py``) is answered from its headers while the client is still sending.
  Tornado then closes the connection, and closing a socket with unread input makes the kernel
  send a reset, which can destroy the answer before the client reads it (a mini-program would
  see "connection reset" instead of 401, and never refresh its token). So every connection the
  server closes is first half-closed (FIN after the answer) and its input read and discarded,
  for at most ``LINGER_SECONDS``, until the client closes too: nginx's "lingering close". The
  discarded bytes are never kept, so this costs bandwidth, not memory.
- Tornado reads at most ``MAX_HEADER_BYTES`` of request headers and otherwise closes the
  connection without a word (``UnsatisfiableReadError`` from its iostream). Here the client gets
  ``431`` with our error body first, then the same lingering close.
"""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import suppress
from typing import Any

import orjson
import tornado.httpserver
from tornado.iostream import IOStream, SSLIOStream, UnsatisfiableReadError

MAX_HEADER_BYTES = 64 * 1024  # Tornado's default, made explicit
LINGER_SECONDS = 10.0
LINGER_BYTES = 64 * 1024 * 1024
MAX_LINGERING = 64  # beyond this many connections at once, close at once (a flood gets resets)

_BODY = orjson.dumps({"error": {"code": "headers_too_large", "message": "请求头过大", "details": {}}})
HEADERS_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                     b"Content-Type: application/json; charset=utf-8\r\n"
                     b"Content-Length: " + str(len(_BODY)).encode() + b"\r\n"
                     b"Connection: close\r\n\r\n" + _BODY)


class Server(tornado.httpserver.HTTPServer):
    """``HTTPServer`` with lingering closes and an answer to oversized headers."""

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_header_size", MAX_HEADER_BYTES)
        super().initialize(*args, **kwargs)
        self._lingering: set[asyncio.Task[None]] = set()

    def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        if not isinstance(stream, SSLIOStream):  # TLS needs its own close_notify: not served here
            _close_lingering(stream, self._lingering)
        super().handle_stream(stream, address)

    async def close_all_connections(self) -> None:
        await super().close_all_connections()
        for task in set(self._lingering):
            task.cancel()
        await asyncio.gather(*self._lingering, return_exceptions=True)


def _close_lingering(stream: IOStream, lingering: set[asyncio.Task[None]]) -> None:
    """Wrap this stream's ``close``, which Tornado calls for every close of the connection (with
    the ``UnsatisfiableReadError`` when headers were too large). That error comes only while a
    request's head is read, never while a response is written (Tornado reads the next request only
    once the previous response is out), so the 431 cannot interleave with another answer."""
    close = stream.close

    def close_lingering(exc_info: Any = False) -> None:
        if not stream.closed():
            too_large = isinstance(exc_info, UnsatisfiableReadError)
            if too_large or not exc_info:  # not after a socket error: that connection is gone
                _linger(stream.socket, HEADERS_TOO_LARGE if too_large else b"", lingering)
        close(exc_info)

    stream.close = close_lingering  # type: ignore[method-assign]  # an instance hook; Tornado offers no other


def _linger(sock: socket.socket, answer: bytes, lingering: set[asyncio.Task[None]]) -> None:
    try:
        if answer:
            sock.send(answer)  # a few hundred bytes: they fit an idle send buffer
        if len(lingering) >= MAX_LINGERING:
            return
        # A duplicate keeps the connection open after the iostream closes its descriptor.
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
    except OSError:
        return
    try:
        duplicate.setblocking(False)
        duplicate.shutdown(socket.SHUT_WR)  # what was written is complete: FIN after it
    except OSError:
        duplicate.close()
        return
    task = asyncio.get_running_loop().create_task(_discard_input(duplicate))
    lingering.add(task)
    task.add_done_callback(lingering.discard)


async def _discard_input(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    received = 0
    try:
        async with asyncio.timeout(LINGER_SECONDS):
            while received < LINGER_BYTES:
                data = await loop.sock_recv(sock, 64 * 1024)
                if not data:
                    break
                received += len(data)
    except (TimeoutError, OSError):
        pass
    finally:
        with suppress(OSError):
            sock.close()
