"""The reference point of every benchmark: a bare Tornado JSON handler, one process.

``GET /`` (any path) answers ``{"ok": true}`` serialised with orjson, on uvloop when it is
installed (as ``yzt serve`` does), so the ratio ``server / baseline`` measures what the project
adds on top of Tornado itself on this machine, in this run.

    python bench/baseline.py --port 8800
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import orjson
import tornado.httpserver
import tornado.web

_BODY = orjson.dumps({"ok": True})


class OkHandler(tornado.web.RequestHandler):
    def get(self, _path: str = "") -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(_BODY)

    def post(self, _path: str = "") -> None:  # not used by run.py; handy for manual comparisons
        self.set_header("Content-Type", "application/json")
        self.finish(_BODY)


def make_app() -> tornado.web.Application:
    return tornado.web.Application([(r"/(.*)", OkHandler)], log_function=lambda handler: None,
                                   compress_response=False)


async def serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = tornado.httpserver.HTTPServer(make_app())
    server.listen(port, host)
    print(f"baseline serving on http://{host}:{port} (loop: {type(loop).__module__})", flush=True)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="bare Tornado JSON handler (benchmark baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
