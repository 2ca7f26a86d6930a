"""Samplers decide which traces are exported: every one, none, a ratio of trace ids, the
parent's decision, or any function ``fn(name, trace_id, parent, attributes) -> bool``.

>>> tracer = Tracer(sampler=ParentBased(TraceIdRatio(0.1)))  # 10% of new traces
"""

from __future__ import annotations

from typing import Any

from mastra.errors import ValidationError
from mastra.telemetry.tracing import Sampler, Span, SpanContext

__all__ = ["AlwaysOff", "AlwaysOn", "ParentBased", "TraceIdRatio"]


class AlwaysOn:
    """Sample every span."""

    def __call__(
        self,
        name: str,
        trace_id: str,
        parent: Span | SpanContext | None,
        attributes: dict[str, Any],
    ) -> bool:
        return True

    def __repr__(self) -> str:
        return "AlwaysOn()"


class AlwaysOff:
    """Sample no span (failed spans are still kept when the tracer keeps errors)."""

    def __call__(
        self,
        name: str,
        trace_id: str,
        parent: Span | SpanContext | None,
        attributes: dict[str, Any],
    ) -> bool:
        return False

    def __repr__(self) -> str:
        return "AlwaysOff()"


class TraceIdRatio:
    """Sample a ``rate`` share of traces, decided by the trace id alone (its low 64 bits
    below ``rate * 2**64``), so every span of a trace, in every service using the same rule,
    gets the same answer."""

    def __init__(self, rate: float) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValidationError(f"a sampling rate is a number from 0 to 1, got {rate!r}")
        self.rate = float(rate)
        self._bound = round(self.rate * 2**64)

    def __call__(
        self,
        name: str,
        trace_id: str,
        parent: Span | SpanContext | None,
        attributes: dict[str, Any],
    ) -> bool:
        return int(trace_id[-16:], 16) < self._bound

    def __repr__(self) -> str:
        return f"TraceIdRatio({self.rate})"


class ParentBased:
    """Follow the parent's decision (local or from a ``traceparent`` header); ask ``root``
    for a new trace."""

    def __init__(self, root: Sampler | None = None) -> None:
        self.root: Sampler = root if root is not None else AlwaysOn()

    def __call__(
        self,
        name: str,
        trace_id: str,
        parent: Span | SpanContext | None,
        attributes: dict[str, Any],
    ) -> bool:
        if parent is not None:
            return parent.sampled
        return self.root(name, trace_id, parent, attributes)

    def __repr__(self) -> str:
        return f"ParentBased({self.root!r})"
