"""Structured logging on the stdlib ``logging`` module: JSON lines and secret redaction."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from mastra.errors import ConfigError
from mastra.telemetry.redact import Redactor

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "TraceContextFilter",
    "configure_logging",
    "get_logger",
]

LOGGER_NAME = "mastra"

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


class RedactingFilter(logging.Filter):
    """Rewrites each record so no secret reaches a formatter: the message, the arguments,
    the exception text and every ``extra=`` attribute."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        for key, value in _extras(record).items():
            setattr(record, key, self.redactor.redact_value(key, value))
        return True


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` of the span active where a record is logged, so any
    formatter (``%(trace_id)s``) or a handler on another thread sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        from mastra.telemetry.tracing import current_span

        span = current_span()
        if span is not None:
            record.trace_id = span.trace_id
            record.span_id = span.span_id
        return True


class _TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, then ``trace_id=... span_id=...`` inside a span."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", None)
        if trace_id is None:
            return line
        return f"{line} trace_id={trace_id} span_id={getattr(record, 'span_id', '')}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, ``extra=`` fields,
    ``exc`` for exceptions and ``trace_id``/``span_id`` when a span is active."""

    def format(self, record: logging.LogRecord) -> str:
        from mastra.telemetry.tracing import current_span

        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span = current_span()  # TraceContextFilter may have set them where it was logged
        if span is not None and not hasattr(record, "trace_id"):
            entry["trace_id"] = span.trace_id
            entry["span_id"] = span.span_id
        entry.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=repr).decode()


class _MastraHandler(logging.StreamHandler[IO[str]]):
    """The handler configure_logging installs, so a second call can find and replace it."""


def configure_logging(
    level: str | int = "INFO",
    *,
    format: str = "json",
    stream: IO[str] | None = None,
    redactor: Redactor | None = None,
) -> logging.Logger:
    """Send the ``mastra`` logger's records to ``stream`` (stderr) as JSON or text lines,
    redacted, with the trace and span ids of the active span. Calling it again replaces the
    handler it installed before; the root logger and other libraries' loggers are left alone."""
    if format not in ("json", "text"):
        raise ConfigError(f"log format {format!r} is not supported; expected 'json' or 'text'")
    if isinstance(level, str) and level.upper() not in logging.getLevelNamesMapping():
        raise ConfigError(
            f"log level {level!r} is not known; expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    logger = logging.getLogger(LOGGER_NAME)
    for old in [h for h in logger.handlers if isinstance(h, _MastraHandler)]:
        logger.removeHandler(old)
    handler = _MastraHandler(stream or sys.stderr)
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactingFilter(redactor or Redactor()))
    handler.setFormatter(JsonFormatter() if format == "json" else _TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    return logger


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``mastra`` logger, or its child ``mastra.<name>``."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
