"""Telemetry: redacted structured logs, spans that follow asyncio tasks, sampling, W3C trace
context propagation, counters and histograms, and span exporters (memory, console, JSONL,
storage, and OpenTelemetry in ``mastra.telemetry.otel``).

>>> telemetry = Telemetry(exporters=[InMemoryExporter()])
>>> with telemetry.tracer.span("answer", model="gpt-4o"):
...     ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mastra.telemetry.batch import BatchWorker
from mastra.telemetry.exporters import (
    BatchExporter,
    ConsoleExporter,
    InMemoryExporter,
    JsonlExporter,
    SpanStore,
    StorageExporter,
    read_jsonl,
)
from mastra.telemetry.logs import (
    JsonFormatter,
    RedactingFilter,
    TraceContextFilter,
    configure_logging,
    get_logger,
)
from mastra.telemetry.metrics import Counter, Histogram, HistogramPoint, Meter, MetricPoint
from mastra.telemetry.propagation import (
    extract_traceparent,
    format_traceparent,
    inject_traceparent,
)
from mastra.telemetry.redact import REDACTED, Redactor
from mastra.telemetry.sampling import AlwaysOff, AlwaysOn, ParentBased, TraceIdRatio
from mastra.telemetry.tracing import (
    Sampler,
    Span,
    SpanContext,
    SpanEvent,
    SpanExporter,
    SpanRecord,
    Tracer,
    current_span,
)

if TYPE_CHECKING:
    from mastra.config import MastraConfig

__all__ = [
    "REDACTED",
    "AlwaysOff",
    "AlwaysOn",
    "BatchExporter",
    "BatchWorker",
    "ConsoleExporter",
    "Counter",
    "Histogram",
    "HistogramPoint",
    "InMemoryExporter",
    "JsonFormatter",
    "JsonlExporter",
    "Meter",
    "MetricPoint",
    "ParentBased",
    "RedactingFilter",
    "Redactor",
    "Sampler",
    "Span",
    "SpanContext",
    "SpanEvent",
    "SpanExporter",
    "SpanRecord",
    "SpanStore",
    "StorageExporter",
    "Telemetry",
    "TraceContextFilter",
    "TraceIdRatio",
    "Tracer",
    "configure_logging",
    "current_span",
    "extract_traceparent",
    "format_traceparent",
    "get_logger",
    "inject_traceparent",
    "read_jsonl",
]


class Telemetry:
    """One tracer, one meter, one logger and one redactor, shared by everything a
    :class:`mastra.Mastra` holds.

    Args:
        service_name: recorded on every span.
        enabled: tracing and metrics on or off (logging is configured separately).
        exporters: where finished spans go; background exporters (``BatchExporter``s)
            count their dropped spans in this telemetry's meter.
        redactor: secret scrubbing shared by spans and logs.
        logger: defaults to the ``mastra`` logger.
        sampler: which traces are exported (default: the parent's decision, else all).
        keep_errors: export failed spans of unsampled traces too.
    """

    def __init__(
        self,
        service_name: str = "mastra",
        *,
        enabled: bool = True,
        exporters: Iterable[SpanExporter] = (),
        redactor: Redactor | None = None,
        logger: logging.Logger | None = None,
        sampler: Sampler | None = None,
        keep_errors: bool = True,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.tracer = Tracer(
            service_name,
            exporters=exporters,
            enabled=enabled,
            redactor=self.redactor,
            sampler=sampler,
            keep_errors=keep_errors,
        )
        self.meter = Meter(enabled=enabled)
        for exporter in self.tracer.exporters:
            if isinstance(exporter, BatchWorker) and exporter.meter is None:
                exporter.meter = self.meter
        self.logger = logger or get_logger()

    @property
    def enabled(self) -> bool:
        return self.tracer.enabled

    @classmethod
    def from_config(cls, config: MastraConfig) -> Telemetry:
        """Telemetry as ``config.telemetry`` describes, redacting ``config.secrets`` too."""
        settings = config.telemetry
        exporter: SpanExporter
        if settings.exporter == "jsonl":
            assert settings.path is not None  # TelemetryConfig guarantees it
            exporter = JsonlExporter(settings.path)
        elif settings.exporter == "console":
            exporter = ConsoleExporter()
        else:
            exporter = InMemoryExporter(max_spans=10_000)
        return cls(
            settings.service_name,
            enabled=settings.enabled,
            exporters=[exporter] if settings.enabled else (),
            redactor=Redactor(env_names=config.secrets),
        )

    def shutdown(self) -> None:
        """Flush and close the exporters."""
        self.tracer.shutdown()

    def __repr__(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        exporters = len(self.tracer.exporters)
        return f"Telemetry({self.tracer.service_name!r}, {state}, exporters={exporters})"
