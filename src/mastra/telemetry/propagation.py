"""W3C Trace Context: read a caller's ``traceparent`` header, write ours on outgoing requests.

A server continues the caller's trace with ``tracer.continue_trace(headers.get("traceparent"),
"http.request")``; ``HttpClient`` adds the header of the current span to every request.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from mastra.telemetry.tracing import Span, SpanContext, current_span

__all__ = ["extract_traceparent", "format_traceparent", "inject_traceparent"]

# version-traceid-parentid-flags; a future version may append fields after a '-'.
_TRACEPARENT = re.compile(
    r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?", re.ASCII
)
_INVALID_TRACE, _INVALID_SPAN = "0" * 32, "0" * 16


def extract_traceparent(value: str | None, tracestate: str | None = None) -> SpanContext | None:
    """The remote span a ``traceparent`` header names, or None when the header is absent or
    malformed (the spec says to ignore such a header and start a new trace)."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _INVALID_TRACE or span_id == _INVALID_SPAN:
        return None
    sampled = bool(int(flags, 16) & 1)
    return SpanContext(trace_id, span_id, sampled, remote=True, tracestate=tracestate or "")


def format_traceparent(context: Span | SpanContext) -> str:
    """The ``traceparent`` header value for a span (version 00)."""
    return f"00-{context.trace_id}-{context.span_id}-{'01' if context.sampled else '00'}"


def inject_traceparent(
    headers: MutableMapping[str, str], span: Span | SpanContext | None = None
) -> None:
    """Add ``traceparent`` (and a remote parent's ``tracestate``) for ``span`` — by default
    the current one — unless the headers already carry one. No span: nothing is added."""
    if span is None:
        span = current_span()
    if span is None or any(key.lower() == "traceparent" for key in headers):
        return
    headers["traceparent"] = format_traceparent(span)
    state = span.tracestate if isinstance(span, SpanContext) else ""
    if state:
        headers["tracestate"] = state
