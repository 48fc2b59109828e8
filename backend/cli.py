"""The ``yzt`` command: serve, init-demo, create-user, version."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Callable, Sequence

from backend import __version__
from backend.config import ConfigError, Settings, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="yzt", description="Yizhantong 一站通 backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (embedded defaults)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=_whole(1, 65535))  # the bounds of YZT_PORT and YZT_PROCESSES
    serve.add_argument("--processes", type=_whole(0, 64), help="serving processes (0 = one per core)")

    commands.add_parser("worker", help="run the outbox relay and push delivery workers only (to scale out)")

    commands.add_parser("init-demo", help="create a demo city with one staff account per role")

    create = commands.add_parser("create-user", help="create a staff account")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, action="append", help="repeat for several roles")
    create.add_argument("--department")
    create.add_argument("--name")

    commands.add_parser("version", help="print the version")

    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"yzt {__version__}")
        return 0
    try:
        overrides = {key: value for key in ("host", "port", "processes")
                     if (value := getattr(args, key, None)) is not None}
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"yzt: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        from backend.app import run  # noqa: PLC0415 - keeps `yzt version` fast

        run(settings)
        return 0
    if args.command == "worker":
        from backend.logs import configure_logging  # noqa: PLC0415
        from push.app import run_worker  # noqa: PLC0415

        configure_logging(settings)
        asyncio.run(run_worker(settings))
        return 0
    if args.command == "init-demo":
        return asyncio.run(_init_demo(settings))
    return asyncio.run(_create_user(settings, args))


def _whole(low: int, high: int) -> Callable[[str], int]:
    """A flag's type: overrides skip the checks of load_settings, so a flag is checked here."""
    def convert(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    return convert


async def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from pydantic import ValidationError  # noqa: PLC0415

    from backend.bootstrap import bootstrap  # noqa: PLC0415
    from backend.errors import ServiceError  # noqa: PLC0415
    from backend.identity.schemas import StaffUserIn  # noqa: PLC0415
    from backend.identity.use_cases import SYSTEM, do_create_staff_user  # noqa: PLC0415

    try:
        data = StaffUserIn.model_validate({"username": args.username, "password": args.password,
                                          "name": args.name or args.username, "roles": args.role,
                                          "department": args.department}, strict=False)
    except ValidationError as exc:
        print(f"yzt: invalid account: {exc}", file=sys.stderr)
        return 2
    async with bootstrap(settings, background=False) as ctx:
        try:
            user = await do_create_staff_user(ctx, data, acting_user=SYSTEM)
        except ServiceError as exc:
            print(f"yzt: {exc.message} {exc.details or ''}", file=sys.stderr)
            return 1
    print(f"created {user['username']} ({', '.join(user['roles'])}) id={user['id']}")
    return 0


async def _init_demo(settings: Settings) -> int:
    from backend.bootstrap import bootstrap  # noqa: PLC0415
    from backend.demo import create_demo_city  # noqa: PLC0415

    async with bootstrap(settings, background=False) as ctx:
        accounts = await create_demo_city(ctx)
    print("Demo city ready. Staff accounts (username / password / roles / department):")
    for account in accounts:
        print(f"  {account['username']:<18} {account['password']:<26} {','.join(account['roles']):<20} "
              f"{account['department'] or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
