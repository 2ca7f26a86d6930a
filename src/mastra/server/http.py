"""What every route shares: the registry and settings on the app, JSON bodies read with a size
limit and checked, JSON answers, and errors as ``{"error": {"type", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec
import orjson
from aiohttp import web

from mastra.errors import (
    ConfigError,
    LeaseLostError,
    MastraError,
    NotFoundError,
    ServiceError,
    ValidationError,
    WorkflowError,
    WorkflowGraphError,
)

__all__ = [
    "Handler",
    "HttpError",
    "body",
    "error_response",
    "json",
    "query_int",
    "status_of",
    "takes",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")
log = logging.getLogger("mastra.server")


class HttpError(MastraError):
    """An error that is already an HTTP answer: its status and its error type."""

    def __init__(self, status: int, type: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type = status, type


def json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, default=msgspec.to_builtins),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error_response(status: int, type: str, message: str) -> web.Response:
    return json({"error": {"type": type, "message": message}}, status=status)


def status_of(exc: MastraError) -> tuple[int, str]:
    """The HTTP status and error type for one of our errors."""
    if isinstance(exc, HttpError):
        return exc.status, exc.type
    if isinstance(exc, (ValidationError, WorkflowGraphError, ConfigError)):
        return 400, "validation_error"
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, (WorkflowError, LeaseLostError)):
        return 409, "conflict"
    if isinstance(exc, ServiceError):
        return 500, "upstream_error"
    return 500, "internal_error"


async def body(request: web.Request, kind: type[T]) -> T:
    """The request's JSON body as ``kind`` (an empty body is ``{}``); 400 naming the field
    that is wrong."""
    raw = await request.read()
    try:
        return msgspec.json.decode(raw if raw.strip() else b"{}", type=kind)
    except msgspec.ValidationError as exc:
        raise HttpError(400, "validation_error", f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise HttpError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


def takes(kind: type[Any]) -> Callable[[H], H]:
    """Record the body type a handler reads (``/openapi.json`` shows it)."""

    def mark(handler: H) -> H:
        handler.__body__ = kind  # type: ignore[attr-defined]
        return handler

    return mark


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise HttpError(
            400, "validation_error", f"{name} must be an integer from {low} to {high}, got {raw!r}"
        )
    return value
