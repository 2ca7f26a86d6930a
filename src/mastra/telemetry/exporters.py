"""Where finished spans go: memory (tests, the playground), the console, a JSONL file, and in
background batches a Storage (``StorageExporter``; ``OTelExporter`` lives in
mastra.telemetry.otel)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import IO, Protocol

import msgspec
import orjson

from mastra.errors import ConfigError
from mastra.telemetry.batch import BatchWorker
from mastra.telemetry.metrics import Meter
from mastra.telemetry.tracing import SpanRecord

__all__ = [
    "BatchExporter",
    "ConsoleExporter",
    "InMemoryExporter",
    "JsonlExporter",
    "SpanStore",
    "StorageExporter",
    "read_jsonl",
]


class InMemoryExporter:
    """Keeps finished spans in a list, oldest first; ``max_spans`` bounds it (oldest dropped)."""

    def __init__(self, max_spans: int | None = None) -> None:
        self.max_spans = max_spans
        self._spans: list[SpanRecord] = []
        self._lock = threading.Lock()

    def export(self, span: SpanRecord) -> None:
        with self._lock:
            self._spans.append(span)
            if self.max_spans is not None and len(self._spans) > self.max_spans:
                del self._spans[: len(self._spans) - self.max_spans]

    @property
    def spans(self) -> list[SpanRecord]:
        """A copy of the spans kept so far."""
        with self._lock:
            return list(self._spans)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()

    def shutdown(self) -> None:
        pass


class ConsoleExporter:
    """Writes one readable line per finished span to ``stream`` (stderr by default)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def export(self, span: SpanRecord) -> None:
        attributes = orjson.dumps(span.attributes, default=repr).decode()
        status = (
            span.status if span.status_message is None else f"{span.status}: {span.status_message}"
        )
        line = (
            f"[{span.service}] trace={span.trace_id[:8]} span={span.span_id[:8]} "
            f"{span.name} {span.duration_ms:.3f}ms {status} {attributes}\n"
        )
        with self._lock:
            stream = self._stream or sys.stderr
            stream.write(line)
            stream.flush()

    def shutdown(self) -> None:
        pass


class JsonlExporter:
    """Appends each finished span as one JSON line to ``path``; :func:`read_jsonl` reads
    them back. Lines are written whole under a lock, so threads never interleave."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file: IO[bytes] | None = self.path.open("ab")
        except OSError as exc:
            raise ConfigError(f"cannot open span file {self.path}: {exc.strerror or exc}") from None
        self._lock = threading.Lock()
        self._encoder = msgspec.json.Encoder(enc_hook=repr)

    def export(self, span: SpanRecord) -> None:
        line = self._encoder.encode(span) + b"\n"
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self._file.flush()

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_jsonl(path: str | os.PathLike[str]) -> list[SpanRecord]:
    """The spans a :class:`JsonlExporter` wrote to ``path``, in order. A torn last line (a
    crash mid-write) is skipped; any other bad line raises ConfigError naming its number."""
    decoder = msgspec.json.Decoder(SpanRecord)
    lines = Path(path).read_bytes().split(b"\n")
    spans = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            spans.append(decoder.decode(line))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if number == len(lines):  # no newline after it: an interrupted write
                continue
            raise ConfigError(f"{path}:{number} is not a span record: {exc}") from None
    return spans


class BatchExporter(BatchWorker[SpanRecord]):
    """A span exporter that sends batches from a background thread (see
    :class:`~mastra.telemetry.batch.BatchWorker`): ``export()`` only appends to a bounded
    buffer, so a slow or dead receiver never blocks or fails a run; spans that do not fit
    are dropped and counted in ``mastra.spans.dropped``. Subclasses implement ``send``."""

    def __init__(
        self,
        name: str,
        *,
        max_queue: int = 2048,
        max_batch: int = 512,
        interval: float = 1.0,
        meter: Meter | None = None,
    ) -> None:
        super().__init__(
            name,
            max_queue=max_queue,
            max_batch=max_batch,
            interval=interval,
            meter=meter,
            kind="spans",
        )

    def export(self, span: SpanRecord) -> None:
        self.put(span)


class SpanStore(Protocol):
    """Where :class:`StorageExporter` writes: any ``mastra.storage.Storage``."""

    async def save_spans(self, spans: list[SpanRecord]) -> None: ...


class StorageExporter(BatchExporter):
    """Writes finished spans to a Storage in batches (for the server's trace routes and the
    Studio), from a background thread with its own event loop."""

    def __init__(
        self,
        storage: SpanStore,
        *,
        max_queue: int = 2048,
        max_batch: int = 512,
        interval: float = 1.0,
        meter: Meter | None = None,
    ) -> None:
        super().__init__(
            "storage-exporter",
            max_queue=max_queue,
            max_batch=max_batch,
            interval=interval,
            meter=meter,
        )
        self.storage = storage

    def send(self, batch: list[SpanRecord]) -> None:
        self.run(self.storage.save_spans(batch))
