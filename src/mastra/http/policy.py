"""Timeouts and the retry policy: small frozen config objects, validated on creation."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping

import msgspec

from mastra.errors import ValidationError

__all__ = [
    "RETRY_STATUSES",
    "RetryPolicy",
    "Timeouts",
    "is_retryable_status",
    "parse_retry_after",
]

# Request timeout, conflict (often a lock the server will release), rate limit; and every 5xx
# (Anthropic's 529 "overloaded" included), see is_retryable_status.
RETRY_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(status: int) -> bool:
    """Whether a response with this status is worth another attempt: 408, 409, 429, 5xx."""
    return status in RETRY_STATUSES or status >= 500


def _check_seconds(name: str, value: float | None, *, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(f"{name} must be a positive number of seconds, got {value!r}")


class Timeouts(msgspec.Struct, frozen=True, kw_only=True):
    """Per-attempt limits in seconds (None for no limit).

    Attributes:
        connect: to get a connection (from the pool or a new one, TLS included).
        read: between two reads of the response: a server that stalls this long fails.
        total: the whole attempt, streaming body included.
    """

    connect: float | None = 10.0
    read: float | None = 120.0
    total: float | None = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "total"):
            _check_seconds(f"Timeouts.{name}", getattr(self, name))


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Exponential backoff with full jitter for retryable failures.

    Attempt ``n`` (1-based) waits a random time in ``[0, min(max_delay, initial_delay *
    multiplier ** (n - 1))]`` (or exactly that bound with ``jitter=False``). A ``Retry-After``
    from the server replaces it, capped at ``max_delay``.
    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    multiplier: float = 2.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or (self.max_attempts < 1)
        ):
            raise ValidationError(
                f"RetryPolicy.max_attempts must be an integer >= 1, got {self.max_attempts!r}"
            )
        _check_seconds("RetryPolicy.initial_delay", self.initial_delay, allow_none=False)
        _check_seconds("RetryPolicy.max_delay", self.max_delay, allow_none=False)
        if not self.multiplier >= 1:
            raise ValidationError(f"RetryPolicy.multiplier must be >= 1, got {self.multiplier!r}")

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        bound = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        return bound * rand() if self.jitter else bound


def _seconds(text: str | None, scale: float = 1.0) -> float | None:
    if text is None:
        return None
    try:
        return max(float(text) * scale, 0.0)
    except ValueError:
        return None


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, or ``Retry-After`` as seconds
    or an HTTP-date. None when absent or unreadable."""
    millis = _seconds(headers.get("retry-after-ms"), 1e-3)
    if millis is not None:
        return millis
    value = headers.get("retry-after")
    seconds = _seconds(value)
    if seconds is not None or value is None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)
