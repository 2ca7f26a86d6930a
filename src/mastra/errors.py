"""The error hierarchy: every error Mastra raises on purpose is a :class:`MastraError`.

Catch :class:`MastraError` for everything, or one area's subclass for exactly what you mean.
Messages say what was wrong and what was expected. They never carry secrets: provider errors
hold the status, the provider's own message and its request id, never a request header.
"""

from __future__ import annotations

import builtins

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConnectionError",
    "ContextLengthError",
    "LeaseLostError",
    "MastraError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "StreamError",
    "TimeoutError",
    "ToolError",
    "ValidationError",
    "WorkflowError",
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


class ProviderError(MastraError):
    """A call to a model provider or another HTTP service failed.

    Attributes:
        status: HTTP status, or None when no response arrived.
        provider: provider name ("openai", "anthropic" ...) when known.
        request_id: the id the server gave the request, for support tickets.
        body: the provider's error message (never request headers or keys).
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


class BadRequestError(ProviderError):
    """The provider rejected the request as malformed (400/404/422 ...); retrying will not help."""


class ContextLengthError(BadRequestError):
    """The prompt (with the requested output) is longer than the model's context window."""


class AuthenticationError(ProviderError):
    """A missing, invalid or unauthorised API key (401/403, or no key configured)."""


class RateLimitError(ProviderError):
    """The provider throttled the request (429). ``retry_after`` is in seconds when it said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = 429,
        provider: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(
            message, status=status, provider=provider, request_id=request_id, body=body
        )
        self.retry_after = retry_after


class ServerError(ProviderError):
    """The provider failed on its side (5xx)."""


class TimeoutError(ProviderError, builtins.TimeoutError):
    """No answer within the configured connect/read/total timeout."""


class ConnectionError(ProviderError, builtins.ConnectionError):
    """The connection could not be made or broke before the response was complete."""


class StreamError(ProviderError):
    """A streamed response broke off or broke its protocol: an event over the size limit, or
    the connection ending in the middle of the stream."""


class ToolError(MastraError):
    """A tool failed: bad arguments, an exception in its body, or a timeout."""


class StorageError(MastraError):
    """A storage backend failed or refused an operation; stored data is left unchanged."""


class LeaseLostError(StorageError):
    """A write guarded by a lease was refused: another owner holds the lease now (this
    process was too slow to renew it), so this process must stop acting for it."""


class WorkflowError(MastraError):
    """A workflow is malformed, or a run cannot proceed (bad resume, run already active ...)."""
