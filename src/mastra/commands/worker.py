"""``mastra worker``: execute queued workflow runs until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from mastra.errors import ConfigError

__all__ = ["add_commands"]


def add_commands(commands: Any) -> None:
    worker = commands.add_parser(
        "worker",
        help="execute queued workflow runs (SQLite or PostgreSQL storage)",
        description="Claim and execute the queued runs of the app's workflows, fire their "
        "cron schedules, and on SIGTERM finish the runs in flight (up to --grace seconds) "
        "before handing the rest back to the queue.",
    )
    worker.add_argument("app", metavar="MODULE:ATTR", help="the Mastra, e.g. app:mastra")
    worker.add_argument(
        "--queue", action="append", default=[], help="a queue to serve (repeat; default: default)"
    )
    worker.add_argument("--concurrency", type=int, default=16, help="runs at once (default 16)")
    worker.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="QUEUE=N",
        help="at most N runs of QUEUE executing at once across every worker",
    )
    worker.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="QUEUE=N/SECONDS",
        help="at most N runs of QUEUE started per SECONDS across every worker",
    )
    worker.add_argument("--grace", type=float, default=30.0, help="seconds to finish on SIGTERM")
    worker.add_argument(
        "--no-schedules", action="store_true", help="do not fire the workflows' cron schedules"
    )
    worker.set_defaults(run=_worker)


def queues_of(args: argparse.Namespace) -> list[Any]:
    """The :class:`Queue` s the options name, with their limits."""
    from mastra.workflows import Queue

    options: dict[str, dict[str, Any]] = {name: {} for name in args.queue or ["default"]}
    for spec in args.limit:
        name, value = _pair(spec, "--limit", "QUEUE=N")
        options.setdefault(name, {})["concurrency"] = _count(value, spec)
    for spec in args.rate:
        name, value = _pair(spec, "--rate", "QUEUE=N/SECONDS")
        count, _, seconds = value.partition("/")
        try:
            per = float(seconds)
        except ValueError:
            raise ConfigError(
                f"--rate {spec!r}: expected QUEUE=N/SECONDS, e.g. emails=100/60"
            ) from None
        options.setdefault(name, {}).update(rate=_count(count, spec), per=per)
    return [Queue(name, **limits) for name, limits in options.items()]


def _pair(spec: str, option: str, form: str) -> tuple[str, str]:
    name, sep, value = spec.partition("=")
    if not sep or not name:
        raise ConfigError(f"{option} {spec!r}: expected {form}")
    return name, value


def _count(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"{spec!r}: {text!r} is not a whole number >= 1")
    return int(text)


def _worker(args: argparse.Namespace) -> int:
    from mastra.commands import load_app
    from mastra.workflows import Worker

    mastra = load_app(args.app)
    worker = Worker(
        mastra,
        queues=queues_of(args),
        concurrency=args.concurrency,
        schedules=not args.no_schedules,
        grace=args.grace,
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        names = ", ".join(q.name for q in worker.queues)
        print(f"mastra worker {worker.owner}: serving {names}", file=sys.stderr, flush=True)
        try:
            await worker.run()
        finally:
            await worker.aclose()
            await mastra.aclose()

    asyncio.run(main())
    return 0
