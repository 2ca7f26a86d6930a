"""Spans: ``with tracer.span("name", **attrs)`` or ``@tracer.span("name")``.

The active span lives in a ``contextvars.ContextVar``, so a span opened around
``asyncio.gather`` is the parent of the spans its tasks open. When the tracer is disabled, a
scope records nothing and hands out a shared no-op span (see benches/test_telemetry.py).

Sampling is decided when a trace's spans start (see mastra.telemetry.sampling): a span that
is not sampled still carries its ids (children and outgoing ``traceparent`` headers follow
it) but is not exported, unless it fails and the tracer keeps errors.
"""

from __future__ import annotations

import functools
import inspect
import random
import time
import traceback
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast

import msgspec

from mastra.telemetry.redact import Redactor

__all__ = [
    "Sampler",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanExporter",
    "SpanRecord",
    "Tracer",
    "current_span",
]

P = ParamSpec("P")
R = TypeVar("R")

SpanStatus = Literal["unset", "ok", "error"]


class SpanEvent(msgspec.Struct, frozen=True):
    """Something that happened at one instant inside a span (an exception, progress ...)."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = {}


class SpanRecord(msgspec.Struct, frozen=True):
    """A finished span, as exporters receive it."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    start_ns: int
    end_ns: int
    status: SpanStatus = "unset"
    status_message: str | None = None
    attributes: dict[str, Any] = {}
    events: list[SpanEvent] = []
    service: str = "mastra"

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


class SpanContext(msgspec.Struct, frozen=True):
    """The identity of a span another process (or a caller) started: what a W3C
    ``traceparent`` header carries. Pass it as ``parent`` to continue that trace."""

    trace_id: str
    span_id: str
    sampled: bool = True
    remote: bool = False
    tracestate: str = ""


class Sampler(Protocol):
    """Decides, when a span starts, whether it is recorded for export. ``parent`` is the
    local parent span, a remote :class:`SpanContext`, or None for a trace's root. Any
    function with this signature is a sampler (see mastra.telemetry.sampling)."""

    def __call__(
        self,
        name: str,
        trace_id: str,
        parent: Span | SpanContext | None,
        attributes: dict[str, Any],
    ) -> bool: ...


class SpanExporter(Protocol):
    """Receives each finished span."""

    def export(self, span: SpanRecord) -> None: ...

    def shutdown(self) -> None: ...


def _new_id(bits: int) -> str:
    return f"{random.getrandbits(bits):0{bits // 4}x}"


class Span:
    """A live span. Attribute values are redacted as they are set."""

    __slots__ = (
        "_ended",
        "_keep",
        "_parent",
        "_tracer",
        "attributes",
        "end_ns",
        "events",
        "name",
        "parent_id",
        "sampled",
        "span_id",
        "start_ns",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        parent: Span | SpanContext | None,
        sampled: bool = True,
        trace_id: str | None = None,
    ) -> None:
        self._tracer = tracer
        self._ended = False
        self._keep = False
        self._parent = parent if isinstance(parent, Span) else None
        self.name = name
        self.sampled = sampled
        self.trace_id: str = parent.trace_id if parent else trace_id or _new_id(128)
        self.span_id: str = _new_id(64)
        self.parent_id: str | None = parent.span_id if parent else None
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.status: SpanStatus = "unset"
        self.status_message: str | None = None
        self.attributes: dict[str, Any] = {}
        self.events: list[SpanEvent] = []

    @property
    def is_recording(self) -> bool:
        return not self._ended

    @property
    def context(self) -> SpanContext:
        """This span's ids and sampling flag (what an outgoing ``traceparent`` carries)."""
        return SpanContext(self.trace_id, self.span_id, self.sampled)

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = self._tracer.redactor.redact_value(key, value)

    def set_attributes(self, **attributes: Any) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(self, name: str, **attributes: Any) -> None:
        redact = self._tracer.redactor.redact_value
        self.events.append(
            SpanEvent(name, time.time_ns(), {k: redact(k, v) for k, v in attributes.items()})
        )

    def set_status(self, status: SpanStatus, message: str | None = None) -> None:
        self.status = status
        self.status_message = self._tracer.redactor.redact(message) if message else None

    def record_exception(self, exc: BaseException) -> None:
        """Add an ``exception`` event (type, message, traceback) and mark the span failed."""
        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.add_event(
            "exception",
            type=type(exc).__qualname__,
            message=str(exc),
            stacktrace=stack,
        )
        self.set_status("error", f"{type(exc).__name__}: {exc}")

    def end(self) -> None:
        """Finish the span and hand it to the exporters (when it is sampled, or failed and
        the tracer keeps errors); later calls do nothing."""
        if self._ended:
            return
        self._ended = True
        self.end_ns = time.time_ns()
        if self.sampled or self._keep:
            self._tracer._export(self)
        elif self.status == "error" and self._tracer.keep_errors:
            # Keep the failure in context: its open ancestors are exported when they end.
            parent = self._parent
            while parent is not None and not parent._keep:
                parent._keep = True
                parent = parent._parent
            self._tracer._export(self)

    def to_record(self) -> SpanRecord:
        return SpanRecord(
            name=self.name,
            trace_id=self.trace_id,
            span_id=self.span_id,
            parent_id=self.parent_id,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
            status=self.status,
            status_message=self.status_message,
            attributes=dict(self.attributes),
            events=list(self.events),
            service=self._tracer.service_name,
        )

    def __repr__(self) -> str:
        return f"<Span {self.name!r} trace={self.trace_id} span={self.span_id}>"


_CURRENT: ContextVar[Span | None] = ContextVar("mastra_current_span", default=None)


def current_span() -> Span | None:
    """The span active in this task or thread, if any."""
    return _CURRENT.get()


class _NoopSpan:
    """Stands in for a span when tracing is off: every method does nothing."""

    __slots__ = ()
    is_recording = False

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, **attributes: Any) -> None:
        pass

    def add_event(self, name: str, **attributes: Any) -> None:
        pass

    def set_status(self, status: SpanStatus, message: str | None = None) -> None:
        pass

    def record_exception(self, exc: BaseException) -> None:
        pass

    def end(self) -> None:
        pass


NOOP_SPAN = _NoopSpan()


class _SpanScope:
    """What ``tracer.span(...)`` returns: a context manager for one span, or a decorator
    that opens a fresh span around every call of the function."""

    __slots__ = ("_attributes", "_name", "_parent", "_span", "_token", "_tracer")

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        attributes: dict[str, Any],
        parent: SpanContext | None = None,
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._attributes = attributes
        self._parent = parent
        self._span: Span | None = None
        self._token: Token[Span | None] | None = None

    def __enter__(self) -> Span | _NoopSpan:
        if not self._tracer.enabled:
            return NOOP_SPAN
        span = self._tracer.start_span(self._name, parent=self._parent, **self._attributes)
        self._span = span
        self._token = _CURRENT.set(span)
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span, token = self._span, self._token
        if span is None or token is None:
            return
        self._span = self._token = None
        _CURRENT.reset(token)
        if exc is not None:
            span.record_exception(exc)
        elif span.status == "unset":
            span.status = "ok"
        span.end()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        tracer, name, attributes, parent = (
            self._tracer,
            self._name,
            self._attributes,
            self._parent,
        )
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                if not tracer.enabled:
                    return await fn(*args, **kwargs)
                with _SpanScope(tracer, name, attributes, parent):
                    return await fn(*args, **kwargs)

            return cast(Callable[P, R], run_async)

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if not tracer.enabled:
                return fn(*args, **kwargs)
            with _SpanScope(tracer, name, attributes, parent):
                return fn(*args, **kwargs)

        return run


class Tracer:
    """Creates spans and sends finished ones to its exporters.

    Args:
        service_name: recorded on every span.
        exporters: receivers of finished spans (see mastra.telemetry.exporters).
        enabled: when False, ``span()`` costs next to nothing and records nothing.
        redactor: scrubs secrets from attributes, events and status messages.
        sampler: which traces are exported (see mastra.telemetry.sampling); the default
            follows the parent's decision and samples every new trace.
        keep_errors: export a failed span (and its open ancestors) even when its trace was
            not sampled.
    """

    def __init__(
        self,
        service_name: str = "mastra",
        *,
        exporters: Iterable[SpanExporter] = (),
        enabled: bool = True,
        redactor: Redactor | None = None,
        sampler: Sampler | None = None,
        keep_errors: bool = True,
    ) -> None:
        self.service_name = service_name
        self.exporters = list(exporters)
        self.enabled = enabled
        self.redactor = redactor or Redactor()
        self.sampler = sampler
        self.keep_errors = keep_errors

    def span(self, name: str, **attributes: Any) -> _SpanScope:
        """A scope for one span named ``name``: ``with tracer.span(...) as span`` or
        ``@tracer.span(...)`` on a sync or async function. The span is a child of the span
        active in the current task; an exception leaving it is recorded and re-raised."""
        return _SpanScope(self, name, attributes)

    def continue_trace(
        self,
        traceparent: str | None,
        name: str,
        *,
        tracestate: str | None = None,
        **attributes: Any,
    ) -> _SpanScope:
        """Like :meth:`span`, as a child of the caller's span that a W3C ``traceparent``
        header names (a server handling a request). A missing or malformed header starts
        the span as usual (a child of the current span, else a new trace)."""
        from mastra.telemetry.propagation import extract_traceparent

        return _SpanScope(self, name, attributes, extract_traceparent(traceparent, tracestate))

    def start_span(
        self, name: str, *, parent: Span | SpanContext | None = None, **attributes: Any
    ) -> Span:
        """Start a span by hand (child of ``parent`` — a span or a remote
        :class:`SpanContext` — or of the current span); the caller must call ``end()``. It
        does not become the current span."""
        if parent is None:
            parent = _CURRENT.get()
        if self.sampler is not None:
            trace_id = parent.trace_id if parent is not None else _new_id(128)
            sampled = self.sampler(name, trace_id, parent, attributes)
            span = Span(self, name, parent, sampled, trace_id)
        else:
            span = Span(self, name, parent, parent.sampled if parent is not None else True)
        if attributes:
            span.set_attributes(**attributes)
        return span

    def _export(self, span: Span) -> None:
        if not self.exporters:
            return
        record = span.to_record()
        for exporter in self.exporters:
            exporter.export(record)

    def shutdown(self) -> None:
        """Flush and close every exporter."""
        for exporter in self.exporters:
            exporter.shutdown()
