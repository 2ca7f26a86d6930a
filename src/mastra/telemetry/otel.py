"""``OTelExporter``: our spans into opentelemetry-sdk and out over OTLP/HTTP
(``pip install mastra[otel]``).

Spans are converted in the exporter's background thread (the run only appends to a bounded
buffer), with the GenAI semantic-convention names and attributes a tracing backend expects:
``chat {model}`` client spans with ``gen_ai.operation.name``, ``gen_ai.system``,
``gen_ai.request.model``, token usage and finish reasons; ``invoke_agent {agent}`` and
``execute_tool {tool}``. Attribute values were redacted when they were set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mastra.errors import ConfigError
from mastra.telemetry.exporters import BatchExporter
from mastra.telemetry.metrics import Meter
from mastra.telemetry.tracing import SpanRecord

__all__ = ["OTelExporter", "otel_attributes"]

_PRIMITIVES = (bool, str, int, float)
# Our span name -> (GenAI operation, the attribute that completes the display name).
_GEN_AI = {
    "gen_ai.chat": ("chat", "gen_ai.request.model"),
    "agent.run": ("invoke_agent", "gen_ai.agent.name"),
    "tool.call": ("execute_tool", "gen_ai.tool.name"),
}


def _value(value: Any) -> Any:
    """An OTel attribute value: a primitive, a homogeneous list of primitives, or JSON text."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, (list, tuple)) and value:
        kind = type(value[0])
        if kind in _PRIMITIVES and all(type(v) is kind for v in value):
            return list(value)
    return orjson.dumps(value, default=repr).decode()


def otel_attributes(record: SpanRecord) -> tuple[str, dict[str, Any]]:
    """The OTel display name and attributes of one of our spans (GenAI conventions added)."""
    attributes = {k: _value(v) for k, v in record.attributes.items() if v is not None}
    name = record.name
    operation = _GEN_AI.get(name)
    if operation is not None:
        op, subject = operation
        attributes.setdefault("gen_ai.operation.name", op)
        name = f"{op} {attributes[subject]}" if subject in attributes else op
        if "gen_ai.system" in attributes:
            attributes.setdefault("gen_ai.provider.name", attributes["gen_ai.system"])
    if record.status == "error":
        kinds = [e.attributes.get("type") for e in record.events if e.name == "exception"]
        attributes.setdefault("error.type", kinds[-1] if kinds and kinds[-1] else "error")
    attributes["mastra.span.name"] = record.name
    return name, attributes


def _require_sdk() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise ConfigError(
            "OTelExporter needs opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http; "
            "install them with: pip install 'mastra[otel]'"
        ) from None


class OTelExporter(BatchExporter):
    """Sends our spans through an OpenTelemetry SDK ``SpanExporter`` — OTLP over HTTP
    (protobuf) by default — in background batches.

    Args:
        endpoint: the traces URL (default: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, else
            ``http://localhost:4318/v1/traces``).
        headers: sent with every export (e.g. an API key for a hosted backend).
        timeout: seconds one export may take, retries included.
        span_exporter: any opentelemetry-sdk ``SpanExporter`` instead of OTLP/HTTP.
        resource: extra resource attributes (``service.name`` comes from each span).
        max_queue, max_batch, interval, meter: see :class:`BatchExporter`.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        span_exporter: Any = None,
        resource: Mapping[str, Any] | None = None,
        max_queue: int = 2048,
        max_batch: int = 512,
        interval: float = 1.0,
        meter: Meter | None = None,
    ) -> None:
        _require_sdk()
        super().__init__(
            "otel-exporter",
            max_queue=max_queue,
            max_batch=max_batch,
            interval=interval,
            meter=meter,
        )
        if span_exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_exporter = OTLPSpanExporter(
                endpoint=endpoint, headers=dict(headers or {}), timeout=timeout
            )
        self.span_exporter = span_exporter
        self._resource_attributes = dict(resource or {})
        self._resources: dict[str, Any] = {}

    def send(self, batch: list[SpanRecord]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        result = self.span_exporter.export(self._convert(batch))
        if result is not SpanExportResult.SUCCESS:
            raise ConfigError(f"the OpenTelemetry exporter answered {result.name}")

    def close_sink(self) -> None:
        self.span_exporter.shutdown()

    def _resource(self, service: str) -> Any:
        resource = self._resources.get(service)
        if resource is None:
            from opentelemetry.sdk.resources import Resource

            resource = Resource.create({**self._resource_attributes, "service.name": service})
            self._resources[service] = resource
        return resource

    def _convert(self, batch: Sequence[SpanRecord]) -> list[Any]:
        from opentelemetry import trace as api
        from opentelemetry.sdk.trace import Event, ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        from opentelemetry.trace.status import Status, StatusCode

        from mastra import __version__

        scope = InstrumentationScope("mastra", __version__)
        sampled = api.TraceFlags(api.TraceFlags.SAMPLED)
        statuses = {"unset": StatusCode.UNSET, "ok": StatusCode.OK, "error": StatusCode.ERROR}
        spans = []
        for record in batch:
            trace_id = int(record.trace_id, 16)
            name, attributes = otel_attributes(record)
            parent = (
                api.SpanContext(trace_id, int(record.parent_id, 16), False, sampled)
                if record.parent_id
                else None
            )
            spans.append(
                ReadableSpan(
                    name,
                    context=api.SpanContext(trace_id, int(record.span_id, 16), False, sampled),
                    parent=parent,
                    resource=self._resource(record.service),
                    attributes=attributes,
                    events=[
                        Event(e.name, {k: _value(v) for k, v in e.attributes.items()}, e.time_ns)
                        for e in record.events
                    ],
                    kind=api.SpanKind.CLIENT
                    if record.name == "gen_ai.chat"
                    else api.SpanKind.INTERNAL,
                    status=Status(
                        statuses[record.status],
                        record.status_message if record.status == "error" else None,
                    ),
                    start_time=record.start_ns,
                    end_time=record.end_ns,
                    instrumentation_scope=scope,
                )
            )
        return spans
