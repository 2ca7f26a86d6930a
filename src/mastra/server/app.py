"""``create_app``: an aiohttp application that serves a :class:`~mastra.Mastra` registry over
Mastra's REST API (under ``prefix``), the OpenAI chat API (``/v1``), a WebSocket per agent,
``/health``, ``/metrics`` and ``/openapi.json``."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Middleware

from mastra.errors import MastraError
from mastra.server import agents, memory, observability, openai_api, tools, vectors, workflows
from mastra.server.auth import Auth
from mastra.server.http import Handler, error_response, json, log, status_of
from mastra.server.observability import LOGS, LogBuffer
from mastra.server.state import (
    AUTH_KEY,
    CLAIMS,
    CORS_HEADERS,
    MASTRA,
    PUBLIC,
    REQUEST_ID,
    STATE,
    TRACEPARENT,
    ServerState,
)
from mastra.server.studio import add_studio, is_studio_file
from mastra.telemetry import Span, StorageExporter, format_traceparent
from mastra.telemetry.metrics import Histogram

if TYPE_CHECKING:
    from mastra.mastra import Mastra
    from mastra.mcp import MCPServer

__all__ = ["create_app"]

REQUEST_ID_HEADER = "X-Request-Id"
SPANS: web.AppKey[StorageExporter] = web.AppKey("spans")
DURATIONS: web.AppKey[Histogram] = web.AppKey("durations")


def create_app(
    mastra: Mastra,
    *,
    prefix: str = "/api",
    auth: Auth | None = None,
    cors: str | Iterable[str] | None = None,
    studio: bool = True,
    max_body: int = 2**20,
    public: Iterable[str] = ("/health",),
    mcp_servers: Iterable[MCPServer] = (),
) -> web.Application:
    """The HTTP application for ``mastra``.

    Args:
        prefix: where Mastra's REST routes live (``/api``, as Mastra's own server).
        auth: an :class:`ApiKeyAuth` or :class:`JWTAuth`; every route but ``public`` then
            needs credentials (401 without, 403 when ``authorize`` refuses them).
        cors: ``"*"`` or the allowed origins; None sends no CORS headers.
        studio: serve the Studio web UI at ``/`` when it is installed.
        max_body: the largest request body in bytes (413 beyond it).
        public: paths (exact, or prefixes ending in ``/``) open without credentials.
        mcp_servers: :class:`~mastra.mcp.MCPServer` s to serve over Streamable HTTP at
            ``{prefix}/mcp/{server.id}/mcp`` (Mastra's route; behind ``auth`` like the rest).
    """
    if not prefix.startswith("/") or prefix.endswith("/"):
        raise MastraError(f"prefix must start with / and not end with one, got {prefix!r}")
    layers: list[Middleware] = [_cors(cors)] if cors is not None else []
    layers += [_requests, _errors] + ([_authentication] if auth is not None else [])
    app = web.Application(client_max_size=max_body, middlewares=layers)
    app[MASTRA] = mastra
    app[STATE] = ServerState(prefix=prefix)
    app[AUTH_KEY] = auth
    app[PUBLIC] = tuple(public)
    app[DURATIONS] = mastra.telemetry.meter.histogram("http.server.duration", unit="s")
    app.router.add_get("/health", _health)
    for module in (agents, tools, workflows, memory, vectors, observability):
        module.add_routes(app.router, prefix)
    openai_api.add_routes(app.router)
    for server in mcp_servers:
        from mastra.mcp import mount

        mount(app, server, prefix=prefix)
    if studio:
        add_studio(app)
    app[LOGS] = LogBuffer()
    app.on_startup.append(_attach_logs)
    app.on_startup.append(_keep_spans)
    app.on_shutdown.append(_stop_runs)
    app.on_cleanup.append(_detach_logs)
    app.on_cleanup.append(_flush_spans)
    return app


async def _keep_spans(app: web.Application) -> None:
    """With telemetry on and storage, finished spans also go to storage (in batches, off the
    loop), so the trace routes and the Studio see every process's traces."""
    mastra = app[MASTRA]
    tracer = mastra.telemetry.tracer
    if not mastra.telemetry.enabled or mastra.storage is None:
        return
    if not any(isinstance(e, StorageExporter) for e in tracer.exporters):
        exporter = StorageExporter(mastra.storage, meter=mastra.telemetry.meter)
        tracer.exporters.append(exporter)
        app[SPANS] = exporter


async def _flush_spans(app: web.Application) -> None:
    exporter = app.get(SPANS)
    if exporter is not None:
        app[MASTRA].telemetry.tracer.exporters.remove(exporter)
        await asyncio.to_thread(exporter.shutdown)


async def _attach_logs(app: web.Application) -> None:
    logging.getLogger("mastra").addHandler(app[LOGS])


async def _detach_logs(app: web.Application) -> None:
    logging.getLogger("mastra").removeHandler(app[LOGS])


async def _health(request: web.Request) -> web.Response:
    return json({"status": "ok"})


async def _stop_runs(app: web.Application) -> None:
    """Graceful shutdown: background runs started by this server are given a grace period
    by the runner, then cancelled; their stored state says so."""
    await app[STATE].cancel_background()


@web.middleware
async def _requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request id (the caller's ``X-Request-Id`` or a new one) on the response and in the
    logs, and a span per request with the route, status and duration."""
    request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    mastra = request.app[MASTRA]
    started = time.perf_counter()
    route = request.match_info.route.resource
    template = route.canonical if route is not None else request.path
    with mastra.telemetry.tracer.continue_trace(
        request.headers.get("traceparent"),
        "http.server",
        tracestate=request.headers.get("tracestate"),
        **{"http.request.method": request.method, "http.route": template},
    ) as span:
        request[TRACEPARENT] = format_traceparent(span) if isinstance(span, Span) else ""
        response = await handler(request)
        span.set_attributes(
            **{"http.response.status_code": response.status, "mastra.request_id": request_id}
        )
    if not response.prepared:
        response.headers[REQUEST_ID_HEADER] = request_id
        if request[TRACEPARENT]:
            response.headers["traceparent"] = request[TRACEPARENT]
    request.app[DURATIONS].record(
        time.perf_counter() - started, route=template, status=str(response.status)
    )
    return response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as ``{"error": {"type", "message"}}``; an unexpected one logs its
    traceback and answers 500 with the request id (never the traceback)."""
    try:
        return await handler(request)
    except MastraError as exc:
        status, kind = status_of(exc)
        if status >= 500:
            log.error("request %s failed: %s", request[REQUEST_ID], exc)
        return _with_id(request, error_response(status, kind, str(exc)))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kind = "payload_too_large" if exc.status == 413 else "http_error"
        return _with_id(request, error_response(exc.status, kind, exc.reason))
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("request %s failed", request[REQUEST_ID])
        message = f"internal error (request id {request[REQUEST_ID]})"
        return _with_id(request, error_response(500, "internal_error", message))


def _with_id(request: web.Request, response: web.Response) -> web.Response:
    response.headers[REQUEST_ID_HEADER] = request[REQUEST_ID]
    return response


@web.middleware
async def _authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Installed only with an ``auth``: credentials before any private route runs."""
    auth = request.app[AUTH_KEY]
    if auth is not None and request.method != "OPTIONS" and not _is_public(request):
        request[CLAIMS] = await auth.authenticate(request)
    return await handler(request)


def _is_public(request: web.Request) -> bool:
    path = request.path
    if is_studio_file(request.app, path):
        return True
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in request.app[PUBLIC])


def _cors(origins: str | Iterable[str]) -> Middleware:
    allowed = {origins} if isinstance(origins, str) else set(origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not ("*" in allowed or origin in allowed):
            return await handler(request)
        headers = _cors_headers("*" if "*" in allowed else origin)
        request[CORS_HEADERS] = headers  # streams add them when they start
        if request.method == "OPTIONS":
            return web.Response(status=204, headers=headers)
        response = await handler(request)
        if not response.prepared:
            response.headers.update(headers)
        return response

    return cors


def _cors_headers(origin: str) -> dict[str, str]:
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": (
            "Authorization, Content-Type, X-API-Key, X-Request-Id, traceparent"
        ),
        "Access-Control-Expose-Headers": "X-Request-Id, traceparent",
    }
    if origin != "*":
        headers["Vary"] = "Origin"
    return headers
