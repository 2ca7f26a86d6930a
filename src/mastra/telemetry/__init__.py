"""Telemetry: redacted structured logs, spans that follow asyncio tasks, counters and
histograms, and span exporters (memory, console, JSONL).

>>> telemetry = Telemetry(exporters=[InMemoryExporter()])
>>> with telemetry.tracer.span("answer", model="gpt-4o"):
...     ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mastra.telemetry.exporters import ConsoleExporter, InMemoryExporter, JsonlExporter, read_jsonl
from mastra.telemetry.logs import JsonFormatter, RedactingFilter, configure_logging, get_logger
from mastra.telemetry.metrics import Counter, Histogram, HistogramPoint, Meter, MetricPoint
from mastra.telemetry.redact import REDACTED, Redactor
from mastra.telemetry.tracing import (
    Span,
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
    "ConsoleExporter",
    "Counter",
    "Histogram",
    "HistogramPoint",
    "InMemoryExporter",
    "JsonFormatter",
    "JsonlExporter",
    "Meter",
    "MetricPoint",
    "RedactingFilter",
    "Redactor",
    "Span",
    "SpanEvent",
    "SpanExporter",
    "SpanRecord",
    "Telemetry",
    "Tracer",
    "configure_logging",
    "current_span",
    "get_logger",
    "read_jsonl",
]


class Telemetry:
    """One tracer, one meter, one logger and one redactor, shared by everything a
    :class:`mastra.Mastra` holds.

    Args:
        service_name: recorded on every span.
        enabled: tracing and metrics on or off (logging is configured separately).
        exporters: where finished spans go.
        redactor: secret scrubbing shared by spans and logs.
        logger: defaults to the ``mastra`` logger.
    """

    def __init__(
        self,
        service_name: str = "mastra",
        *,
        enabled: bool = True,
        exporters: Iterable[SpanExporter] = (),
        redactor: Redactor | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.redactor = redactor or Redactor()
        self.tracer = Tracer(
            service_name, exporters=exporters, enabled=enabled, redactor=self.redactor
        )
        self.meter = Meter(enabled=enabled)
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
