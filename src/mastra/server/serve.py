"""Running the server: one process, or ``workers`` processes sharing the port (SO_REUSEPORT),
each loading the app from ``module:attr``; SIGTERM stops accepting, lets requests and streams
in flight finish within ``grace`` seconds, then cancels what is left and closes the registry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mastra.commands import load_app
from mastra.errors import ConfigError

if TYPE_CHECKING:
    from mastra.mastra import Mastra

__all__ = ["serve"]

log = logging.getLogger("mastra.server")


def serve(
    target: str | Mastra,
    *,
    host: str = "127.0.0.1",
    port: int = 4111,
    workers: int = 1,
    grace: float = 30.0,
    **app_options: Any,
) -> None:
    """Serve until SIGTERM/SIGINT. ``target`` is a Mastra, or ``module:attr`` (needed for
    ``workers > 1``: each worker process imports it); ``app_options`` go to ``create_app``."""
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if workers > 1:
        if not isinstance(target, str):
            raise ConfigError("several workers need the app as MODULE:ATTR, not an object")
        _supervise(target, host, port, workers, grace, app_options)
        return
    mastra = load_app(target) if isinstance(target, str) else target
    asyncio.run(_serve_one(mastra, host, port, grace, app_options))


async def _serve_one(
    mastra: Mastra, host: str, port: int, grace: float, app_options: dict[str, Any]
) -> None:
    from mastra.server.app import create_app

    app = create_app(mastra, **app_options)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=grace)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_port=True)
    await site.start()
    log.info("serving %s on http://%s:%d", mastra, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("stopping: finishing requests in flight (up to %g s)", grace)
        await runner.cleanup()  # stops accepting, waits for handlers, then cancels them
        await mastra.aclose()


def _worker(spec: str, host: str, port: int, grace: float, options: dict[str, Any]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when to stop
    asyncio.run(_serve_one(load_app(spec), host, port, grace, options))


def _supervise(
    spec: str, host: str, port: int, workers: int, grace: float, options: dict[str, Any]
) -> None:
    """Start the workers, restart one that dies, and on SIGTERM/SIGINT pass SIGTERM on and
    wait for them all."""
    load_app(spec)  # fail here, once, rather than in every worker
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker, args=(spec, host, port, grace, options))
        process.start()
        return process

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    running = [start() for _ in range(workers)]
    while not stopping:
        for i, process in enumerate(running):
            process.join(timeout=0.2)
            if process.exitcode is not None and not stopping:
                log.error("worker %d exited with %s; starting another", i, process.exitcode)
                running[i] = start()
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()  # SIGTERM: each worker shuts down gracefully
    for process in running:
        process.join(grace + 10)
