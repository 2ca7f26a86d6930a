"""What the server keeps between requests: the registry and settings under typed app keys,
the workflow runs it is executing (to watch, resume and cancel them), and the background
tasks it started (cancelled on shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mastra.server.auth import Auth

if TYPE_CHECKING:
    from mastra.mastra import Mastra
    from mastra.workflows import Run

__all__ = [
    "AUTH_KEY",
    "CLAIMS",
    "CORS_HEADERS",
    "MASTRA",
    "PUBLIC",
    "REQUEST_ID",
    "STATE",
    "TRACEPARENT",
    "ServerState",
    "request_context",
]

_FINISHED = ("success", "failed", "canceled")


class ServerState:
    """Live runs by (workflow id, run id), and background tasks."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.runs: dict[tuple[str, str], Run] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def remember(self, run: Run) -> Run:
        """Keep ``run`` by its ids; finished runs are let go (storage has them)."""
        for key in [k for k, r in self.runs.items() if r.status in _FINISHED]:
            del self.runs[key]
        self.runs[(run.workflow.id, run.run_id)] = run
        return run

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background, kept until it ends (or the server stops)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_background(self) -> None:
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# Per request: its id, the caller's claims (with auth), the CORS headers streams must carry.
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
CLAIMS: web.RequestKey[dict[str, Any]] = web.RequestKey("claims")
CORS_HEADERS: web.RequestKey[dict[str, str]] = web.RequestKey("cors_headers")
TRACEPARENT: web.RequestKey[str] = web.RequestKey("traceparent")

MASTRA: web.AppKey[Mastra] = web.AppKey("mastra")
STATE: web.AppKey[ServerState] = web.AppKey("state")
AUTH_KEY: web.AppKey[Auth | None] = web.AppKey("auth")
PUBLIC: web.AppKey[tuple[str, ...]] = web.AppKey("public")


def request_context(request: web.Request, given: dict[str, Any]) -> dict[str, Any]:
    """A run's ``context``: the body's ``requestContext`` and, with auth, the caller's claims
    under ``"auth"``."""
    context = dict(given)
    if CLAIMS in request:
        context["auth"] = request[CLAIMS]
    return context
