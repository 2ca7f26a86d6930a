"""The error hierarchy: every error Mastra raises on purpose is a :class:`MastraError`.

Catch :class:`MastraError` for everything, or one area's subclass for exactly what you mean.
Messages say what was wrong and what was expected. They never carry secrets: provider errors
hold the status, the provider's own message and its request id, never a request header.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConnectionError",
    "ContextLengthError",
    "EventTooLargeError",
    "LeaseLostError",
    "MastraError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "ServerError",
    "ServiceError",
    "StorageError",
    "StreamError",
    "TimeoutError",
    "ToolError",
    "TransportError",
    "ValidationError",
    "WorkflowError",
    "WorkflowGraphError",
    "WorkflowValidationError",
]


class MastraError(Exception):
    """Base class of every error raised by Mastra."""


class ConfigError(MastraError):
    """Configuration that cannot be used: a bad value, an unknown field, an unreadable file."""


class ValidationError(MastraError, ValueError):
    """An argument or a value failed validation (wrong type, shape, range or schema)."""


class NotFoundError(MastraError, LookupError):
    """A named thing (agent, workflow, vector index, thread ...) does not exist."""

    def __str__(self) -> str:
        # LookupError would render through KeyError-style repr quoting otherwise.
        return str(self.args[0]) if self.args else ""


class ServiceError(MastraError):
    """A call to another service (a model provider, an HTTP API, a database) failed.

    Attributes:
        status: HTTP status, or None when no response arrived.
        provider: the service's name ("openai", "postgres" ...) when known.
        request_id: the id the server gave the request, for support tickets.
        body: the service's error message (never request headers or keys).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.provider = provider
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        parts = [str(self.args[0]) if self.args else type(self).__name__]
        if self.provider:
            parts.append(f"provider={self.provider}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts) if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class ProviderError(ServiceError):
    """A model provider (or another HTTP service) answered, and the answer is an error: an
    error status, or a body that is not what its API promises. ``retry_after`` is in seconds
    when the answer said how long to wait (429 and 5xx ``Retry-After``)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, provider=provider, request_id=request_id, body=body
        )
        self.retry_after = retry_after


class BadRequestError(ProviderError):
    """The provider rejected the request as malformed (400/404/422 ...); retrying will not help."""


class ContextLengthError(BadRequestError):
    """The prompt (with the requested output) is longer than the model's context window."""


class AuthenticationError(ProviderError):
    """A missing, invalid or unauthorised API key (401/403, or no key configured)."""


class RateLimitError(ProviderError):
    """The provider throttled the request (429). ``retry_after`` is in seconds when it said."""

    def __init__(self, message: str, *, status: int | None = 429, **details: Any) -> None:
        super().__init__(message, status=status, **details)


class ServerError(ProviderError):
    """The provider failed on its side (5xx)."""


class TransportError(ServiceError):
    """No usable answer came back: a timeout, a connection that failed or broke, a stream
    that broke off — from a provider, an HTTP service or a database alike."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """No answer within the configured time (connect, read, total, a lock or a pool wait)."""


class ConnectionError(TransportError, builtins.ConnectionError):
    """The connection could not be made or broke before the answer was complete."""


class StreamError(TransportError):
    """A streamed response broke off or broke its protocol (the connection ended in the
    middle of the stream, an event over the size limit ...)."""


class EventTooLargeError(StreamError):
    """One or more server-sent events of a chunk were over ``max_event_bytes`` and skipped.

    Raised after the whole chunk was decoded: ``events`` holds every other event the chunk
    completed, in stream order; ``skipped`` counts the oversized events, ``size`` is how many
    bytes the first one had reached when it crossed ``limit``. The decoder stays usable.
    """

    def __init__(
        self,
        message: str,
        *,
        events: Iterable[Any] = (),
        skipped: int = 1,
        size: int = 0,
        limit: int = 0,
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        self.events = list(events)
        self.skipped, self.size, self.limit = skipped, size, limit


class ToolError(MastraError):
    """A tool failed: bad arguments, an exception in its body, or a timeout."""


class StorageError(MastraError):
    """A storage backend failed or refused an operation; stored data is left unchanged."""


class LeaseLostError(StorageError):
    """A write guarded by a lease was refused: another owner holds the lease now (this
    process was too slow to renew it), so this process must stop acting for it."""


class WorkflowError(MastraError):
    """A workflow is malformed, or a run cannot proceed (bad resume, run already active ...)."""


class WorkflowGraphError(WorkflowError):
    """A workflow's graph cannot be built or committed: a duplicate step id, types that do
    not fit between steps, an argument of a builder method that makes no sense."""


class WorkflowValidationError(WorkflowError, ValidationError):
    """Data does not fit a workflow's declared types: its input, a step's input or output,
    a suspend payload or resume data (also a ValidationError)."""


ErrorMapping = dict[type[BaseException], Callable[[str], MastraError]]


def mapped(exc: BaseException, mapping: ErrorMapping, what: str) -> MastraError | None:
    """The error ``exc`` becomes under ``mapping`` (first matching class, in order), with a
    message "<what>: <exc>"; None when nothing matches. MastraErrors stay as they are."""
    if isinstance(exc, MastraError):
        return exc
    for source, make in mapping.items():
        if isinstance(exc, source):
            return make(f"{what}: {str(exc).strip() or type(exc).__name__}")
    return None


@contextlib.contextmanager
def map_exceptions(mapping: ErrorMapping, what: str) -> Iterator[None]:
    """Raise the Mastra error that ``mapping`` makes of an exception from the block (see
    :func:`mapped`); exceptions it does not map pass through unchanged."""
    try:
        yield
    except Exception as exc:
        error = mapped(exc, mapping, what)
        if error is None or error is exc:
            raise
        raise error from None
