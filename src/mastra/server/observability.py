"""Observability routes: traces (Mastra's ``/api/observability/traces``, from storage when spans
are kept there, else from the telemetry's in-memory exporter), recent logs
(``/api/observability/logs``), Prometheus ``/metrics`` and ``/openapi.json``."""

from __future__ import annotations

import collections
import logging
import re
import threading
from typing import Any

from aiohttp import web

from mastra.errors import NotFoundError
from mastra.server.http import json, query_int
from mastra.server.openapi import openapi
from mastra.server.state import MASTRA
from mastra.telemetry import HistogramPoint, InMemoryExporter, MetricPoint, SpanRecord

__all__ = ["LOGS", "LogBuffer", "add_routes", "prometheus"]


class LogBuffer(logging.Handler):
    """The last ``capacity`` records of the ``mastra`` loggers, for ``/observability/logs``."""

    def __init__(self, capacity: int = 2000) -> None:
        super().__init__(level=logging.DEBUG)
        self._records: collections.deque[dict[str, Any]] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        entry = {
            "timestamp": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.format(record),
        }
        with self._guard:
            self._records.append(entry)

    def records(self) -> list[dict[str, Any]]:
        with self._guard:
            return list(self._records)


LOGS: web.AppKey[LogBuffer] = web.AppKey("logs")


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    base = f"{prefix}/observability"
    router.add_get(base + "/traces", list_traces)
    router.add_get(base + "/traces/{trace_id}", get_trace)
    router.add_get(base + "/logs", list_logs)
    router.add_get(f"{prefix}/scores", list_scores)
    router.add_get(base + "/scores", list_scores)
    router.add_get("/metrics", metrics)
    router.add_get("/openapi.json", openapi_json)


async def _spans(request: web.Request, trace_id: str | None = None) -> list[SpanRecord]:
    mastra = request.app[MASTRA]
    if mastra.storage is not None:
        stored = await mastra.storage.list_spans(trace_id=trace_id, limit=10_000)
        if stored:
            return stored
    kept = [
        span
        for exporter in mastra.telemetry.tracer.exporters
        if isinstance(exporter, InMemoryExporter)
        for span in exporter.spans
    ]
    return [s for s in kept if trace_id is None or s.trace_id == trace_id]


def span_json(span: SpanRecord) -> dict[str, Any]:
    """A span as Mastra's ``SpanRecord``: ids, name, type, times (ISO) and attributes."""
    return {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "parentSpanId": span.parent_id,
        "name": span.name,
        "spanType": span.name.split(".")[0],
        "startedAt": _iso_ns(span.start_ns),
        "endedAt": _iso_ns(span.end_ns),
        "durationMs": span.duration_ms,
        "status": span.status,
        "error": {"message": span.status_message} if span.status == "error" else None,
        "attributes": span.attributes,
        "events": [
            {"name": e.name, "time": _iso_ns(e.time_ns), "attributes": e.attributes}
            for e in span.events
        ],
        "service": span.service,
    }


def _iso_ns(ns: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


async def list_traces(request: web.Request) -> web.Response:
    """Root spans (one per trace), newest first, paged: ``{spans, pagination}``."""
    per_page = query_int(request, "perPage", 20, 1, 1000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    name = request.query.get("name")
    roots = [s for s in await _spans(request) if s.parent_id is None]
    if name:
        roots = [s for s in roots if s.name == name]
    roots.sort(key=lambda s: s.start_ns, reverse=True)
    chosen = roots[page * per_page : (page + 1) * per_page]
    return json(
        {
            "spans": [span_json(s) for s in chosen],
            "pagination": {
                "total": len(roots),
                "page": page,
                "perPage": per_page,
                "hasMore": (page + 1) * per_page < len(roots),
            },
        }
    )


async def get_trace(request: web.Request) -> web.Response:
    """Every span of one trace, in start order."""
    trace_id = request.match_info["trace_id"]
    spans = sorted(await _spans(request, trace_id), key=lambda s: s.start_ns)
    if not spans:
        raise NotFoundError(f"no trace {trace_id!r}")
    return json({"traceId": trace_id, "spans": [span_json(s) for s in spans]})


async def list_scores(request: web.Request) -> web.Response:
    """Scores kept by live scoring and evals, newest first; filter by ``scorerId``, ``runId``
    and ``entityId`` (an agent's name)."""
    storage = request.app[MASTRA].storage
    per_page = query_int(request, "perPage", 50, 1, 1000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    if storage is None:
        return json(
            {"scores": [], "pagination": {"page": page, "perPage": per_page, "hasMore": False}}
        )
    found = await storage.list_scores(
        scorer_id=request.query.get("scorerId") or None,
        run_id=request.query.get("runId") or None,
        entity_id=request.query.get("entityId") or None,
        limit=per_page + 1,
        offset=page * per_page,
    )
    scores = [
        {
            "id": s.id,
            "scorerId": s.scorer_id,
            "score": s.score,
            "reason": s.reason,
            "runId": s.run_id,
            "traceId": s.trace_id,
            "entityType": s.entity_type,
            "entityId": s.entity_id,
            "source": s.source,
            "input": s.input,
            "output": s.output,
            "preprocessStepResult": s.steps.get("preprocess"),
            "analyzeStepResult": s.steps.get("analyze"),
            "metadata": s.metadata,
            "createdAt": s.created_at.isoformat().replace("+00:00", "Z"),
        }
        for s in found[:per_page]
    ]
    pagination = {"page": page, "perPage": per_page, "hasMore": len(found) > per_page}
    return json({"scores": scores, "pagination": pagination})


async def list_logs(request: web.Request) -> web.Response:
    """The most recent log records of the ``mastra`` loggers, newest first."""
    per_page = query_int(request, "perPage", 100, 1, 2000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    level = request.query.get("level")
    records = request.app[LOGS].records()[::-1]
    if level:
        records = [r for r in records if r["level"] == level.lower()]
    chosen = records[page * per_page : (page + 1) * per_page]
    pagination = {"total": len(records), "page": page, "perPage": per_page}
    return json({"logs": chosen, "pagination": pagination})


_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _metric_name(name: str) -> str:
    return _NAME.sub("_", name)


def _labels(attributes: dict[str, Any], extra: str = "") -> str:
    pairs = [f'{_metric_name(k)}="{_escape(str(v))}"' for k, v in sorted(attributes.items())]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _le(bound: str) -> str:
    return 'le="' + bound + '"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus(points: list[MetricPoint | HistogramPoint]) -> str:
    """Metric points in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    typed: set[str] = set()
    for point in points:
        name = _metric_name(point.name)
        if isinstance(point, MetricPoint):
            name += "_total"
            if name not in typed:
                lines.append(f"# TYPE {name} counter")
                typed.add(name)
            lines.append(f"{name}{_labels(point.attributes)} {point.value:g}")
            continue
        if name not in typed:
            lines.append(f"# TYPE {name} histogram")
            typed.add(name)
        running = 0
        for bound, count in zip(point.buckets, point.bucket_counts, strict=False):
            running += count
            lines.append(f"{name}_bucket{_labels(point.attributes, _le(f'{bound:g}'))} {running}")
        lines.append(f"{name}_bucket{_labels(point.attributes, _le('+Inf'))} {point.count}")
        lines.append(f"{name}_sum{_labels(point.attributes)} {point.sum:g}")
        lines.append(f"{name}_count{_labels(point.attributes)} {point.count}")
    return "\n".join(lines) + "\n"


async def metrics(request: web.Request) -> web.Response:
    """The registry's counters and histograms, for Prometheus to scrape."""
    text = prometheus(request.app[MASTRA].telemetry.meter.collect())
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


async def openapi_json(request: web.Request) -> web.Response:
    """This server's OpenAPI 3.1 description."""
    return json(openapi(request.app))
