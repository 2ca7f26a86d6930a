"""Streamed answers: server-sent events (agents: ``data: <json>\\n\\n`` frames ending with
``data: [DONE]``) and record-separated JSON (workflows: ``<json>\\x1e`` frames), started
with the request id and CORS headers a plain answer gets from the middlewares."""

from __future__ import annotations

from typing import Any

import msgspec
import orjson
from aiohttp import web

from mastra.server.state import CORS_HEADERS, REQUEST_ID, TRACEPARENT

__all__ = ["SSE_DONE", "open_stream", "record", "sse"]

SSE_DONE = b"data: [DONE]\n\n"


async def open_stream(request: web.Request, content_type: str) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": content_type,
            "Cache-Control": "no-cache",
            "X-Request-Id": request[REQUEST_ID],
            **({"traceparent": request[TRACEPARENT]} if request.get(TRACEPARENT) else {}),
            **request.get(CORS_HEADERS, {}),
        }
    )
    await response.prepare(request)
    return response


def sse(chunk: Any) -> bytes:
    """One SSE frame: a ``data:`` line of one-line JSON and a blank line."""
    return b"data: " + orjson.dumps(chunk, default=msgspec.to_builtins) + b"\n\n"


def record(chunk: Any) -> bytes:
    """One record of Mastra's workflow streams: JSON, then the record separator."""
    return orjson.dumps(chunk, default=msgspec.to_builtins) + b"\x1e"
