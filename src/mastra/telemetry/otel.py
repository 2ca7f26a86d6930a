"""``OTelExporter``: our spans out over OTLP/HTTP (protobuf), with no OpenTelemetry package.

Spans are encoded and posted in the exporter's background thread (the run only appends to a
bounded buffer), with the GenAI semantic-convention names and attributes a tracing backend
expects: ``chat {model}`` client spans with ``gen_ai.operation.name``, ``gen_ai.system``,
``gen_ai.request.model``, token usage and finish reasons; ``invoke_agent {agent}`` and
``execute_tool {tool}``. Attribute values were redacted when they were set. The protobuf
bytes come from :mod:`mastra.telemetry.otlp`; an opentelemetry-sdk ``SpanExporter`` can be
given instead (then the SDK must be installed).
"""

from __future__ import annotations

import asyncio
import builtins
import gzip
import itertools
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from mastra.errors import ConfigError, ServiceError, TimeoutError, ValidationError
from mastra.http import HttpClient, RetryPolicy, Timeouts
from mastra.telemetry.exporters import BatchExporter
from mastra.telemetry.metrics import Meter
from mastra.telemetry.otlp import (
    KIND_CLIENT,
    KIND_INTERNAL,
    encode_attributes,
    encode_request,
    encode_span,
    otlp_value,
)
from mastra.telemetry.redact import Redactor
from mastra.telemetry.tracing import SpanRecord

__all__ = ["OTLP_RETRY", "OTelExporter", "otel_attributes"]

# Our span name -> (GenAI operation, the attribute that completes the display name).
_GEN_AI = {
    "gen_ai.chat": ("chat", "gen_ai.request.model"),
    "agent.run": ("invoke_agent", "gen_ai.agent.name"),
    "tool.call": ("execute_tool", "gen_ai.tool.name"),
}
# The OTLP/HTTP spec retries these answers (and failed connections), no others.
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
OTLP_RETRY = RetryPolicy(max_attempts=6, initial_delay=1.0, max_delay=32.0)
_COMPRESSIONS = ("gzip", "none")
_DEFAULT_ENDPOINT = "http://localhost:4318/v1/traces"
_DEFAULT_TIMEOUT = 10.0


def otel_attributes(record: SpanRecord) -> tuple[str, dict[str, Any]]:
    """The OTel display name and attributes (as OTLP values, see
    :func:`~mastra.telemetry.otlp.otlp_value`) of one of our spans, GenAI conventions added."""
    attributes = {k: otlp_value(v) for k, v in record.attributes.items() if v is not None}
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
        kind = otlp_value(kinds[-1]) if kinds and kinds[-1] is not None else None
        attributes.setdefault("error.type", kind if kind else "error")
    attributes["mastra.span.name"] = record.name
    return name, attributes


def _kind(record: SpanRecord) -> int:
    return KIND_CLIENT if record.name == "gen_ai.chat" else KIND_INTERNAL


def _pairs(text: str) -> dict[str, str]:
    """``key=value,key2=value2`` as the OTEL_* variables write them (values URL-encoded);
    entries without ``=`` are skipped."""
    pairs = {}
    for entry in text.split(","):
        key, sep, value = entry.partition("=")
        if sep and key.strip():
            pairs[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
    return pairs


def _env(name: str) -> str | None:
    """``OTEL_EXPORTER_OTLP_TRACES_{name}``, else ``OTEL_EXPORTER_OTLP_{name}``."""
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_TRACES_{name}")
    return value if value else os.environ.get(f"OTEL_EXPORTER_OTLP_{name}") or None


def _endpoint(endpoint: str | None) -> str:
    if endpoint is None:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or None
    if endpoint is None:
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        endpoint = f"{base.rstrip('/')}/v1/traces" if base else _DEFAULT_ENDPOINT
    scheme = urllib.parse.urlsplit(endpoint).scheme
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"OTelExporter sends OTLP over HTTP: the endpoint must be an http:// or https:// "
            f"URL (such as {_DEFAULT_ENDPOINT}), got one with scheme {scheme!r}"
        )
    return endpoint


def _timeout(timeout: float | None) -> float:
    """The argument (seconds), else ``OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT``, else 10 s."""
    if timeout is None:
        text = _env("TIMEOUT")
        return _DEFAULT_TIMEOUT if text is None else _milliseconds(text)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValidationError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def _milliseconds(text: str) -> float:
    """A timeout variable's value: milliseconds, as the OTLP exporter spec says, in seconds."""
    try:
        seconds = float(text) / 1000
    except ValueError:
        seconds = -1.0
    if not seconds > 0:  # NaN too
        raise ConfigError(
            f"OTEL_EXPORTER_OTLP_TIMEOUT / OTEL_EXPORTER_OTLP_TRACES_TIMEOUT must be a number "
            f"of milliseconds > 0 (such as 10000), got {text!r}"
        )
    return seconds


def _compression(compression: str | None) -> str:
    chosen = (compression or _env("COMPRESSION") or "none").lower()
    if chosen not in _COMPRESSIONS:
        raise ConfigError(
            f"OTLP compression must be one of {', '.join(_COMPRESSIONS)}, got {chosen!r}"
        )
    return chosen


def _credentials(endpoint: str, headers: Mapping[str, str]) -> Redactor:
    """A redactor of every header value (whatever the header's name, an OTLP header is
    usually a key: x-honeycomb-team, dd-api-key ...), the credential after an auth scheme
    (``Bearer x``) and a password in the endpoint."""
    secrets = [*headers.values(), *(v.split(" ", 1)[1] for v in headers.values() if " " in v)]
    password = urllib.parse.urlsplit(endpoint).password
    return Redactor([*secrets, password] if password else secrets)


def _require_sdk() -> None:
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        raise ConfigError(
            "OTelExporter(span_exporter=...) hands spans to an opentelemetry-sdk SpanExporter "
            "and needs opentelemetry-sdk; install it with: pip install opentelemetry-sdk"
        ) from None


class OTelExporter(BatchExporter):
    """Sends our spans over OTLP/HTTP (protobuf) in background batches — or through an
    OpenTelemetry SDK ``SpanExporter`` when one is given.

    Args:
        endpoint: the traces URL (default: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, else
            ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces``, else
            ``http://localhost:4318/v1/traces``).
        headers: sent with every export (e.g. an API key for a hosted backend); default:
            ``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` / ``OTEL_EXPORTER_OTLP_HEADERS``.
        timeout: seconds one export may take, retries included (default:
            ``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` / ``OTEL_EXPORTER_OTLP_TIMEOUT`` in
            milliseconds, else 10 s).
        span_exporter: any opentelemetry-sdk ``SpanExporter`` instead of OTLP/HTTP.
        resource: extra resource attributes (``service.name`` comes from each span; the
            ``OTEL_RESOURCE_ATTRIBUTES`` variable is read too).
        compression: ``"gzip"`` or ``"none"`` (default: ``OTEL_EXPORTER_OTLP_COMPRESSION``,
            else none).
        retry: backoff between attempts; 429, 502, 503, 504 and failed connections are
            retried (``Retry-After`` honoured) while ``timeout`` allows.
        max_queue, max_batch, interval, meter: see :class:`BatchExporter`.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        span_exporter: Any = None,
        resource: Mapping[str, Any] | None = None,
        compression: str | None = None,
        retry: RetryPolicy = OTLP_RETRY,
        max_queue: int = 2048,
        max_batch: int = 512,
        interval: float = 1.0,
        meter: Meter | None = None,
    ) -> None:
        seconds = _timeout(timeout)
        if span_exporter is not None:
            _require_sdk()
        super().__init__(
            "otel-exporter",
            max_queue=max_queue,
            max_batch=max_batch,
            interval=interval,
            meter=meter,
        )
        from mastra import __version__

        self.span_exporter = span_exporter
        self.endpoint = _endpoint(endpoint)
        self.timeout = seconds
        self.compression = _compression(compression)
        self.retry = retry
        self._scope = ("mastra", __version__)
        self._resource_attributes: dict[str, Any] = {
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "mastra",
            "telemetry.sdk.version": __version__,
            **_pairs(os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "")),
            **(resource or {}),
        }
        self._resources: dict[str, bytes] = {}
        self._post_headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": f"mastra-otlp/{__version__}",
        }
        if self.compression == "gzip":
            self._post_headers["Content-Encoding"] = "gzip"
        limit = Timeouts(connect=self.timeout, read=self.timeout, total=self.timeout)
        sent_headers = dict(headers) if headers is not None else _pairs(_env("HEADERS") or "")
        self._redactor = _credentials(self.endpoint, sent_headers)
        self._client = HttpClient(
            headers=sent_headers,
            timeouts=limit,
            retry=RetryPolicy(max_attempts=1),  # ours: OTLP retries fewer statuses
            max_response_bytes=2**20,
            provider="otlp",
        )

    # -- encoding -------------------------------------------------------------------------

    def resource_attributes(self, service: str) -> dict[str, Any]:
        """The resource of the spans of ``service`` (as OTLP values)."""
        merged = {**self._resource_attributes, "service.name": service}
        return {k: otlp_value(v) for k, v in merged.items()}

    def _resource(self, service: str) -> bytes:
        resource = self._resources.get(service)
        if resource is None:
            resource = encode_attributes(b"\x0a", self.resource_attributes(service))
            self._resources[service] = resource
        return resource

    def encode(self, batch: Sequence[SpanRecord]) -> bytes:
        """The OTLP ``ExportTraceServiceRequest`` (protobuf bytes) of ``batch``: one resource
        per service, the ``mastra`` scope. A span whose ids are not hex of the right length
        is left out and counted as dropped (reason ``invalid``)."""
        groups: dict[str, list[bytes]] = {}
        for record in batch:
            name, attributes = otel_attributes(record)
            try:
                span = encode_span(record, name, _kind(record), attributes)
            except ValidationError:
                self.count_dropped(1, "invalid")
                continue
            spans = groups.get(record.service)
            if spans is None:
                groups[record.service] = [span]
            else:
                spans.append(span)
        return encode_request(
            [(self._resource(service), spans) for service, spans in groups.items()], self._scope
        )

    # -- delivery -------------------------------------------------------------------------

    def send(self, batch: list[SpanRecord]) -> None:
        if self.span_exporter is not None:
            self._send_through_sdk(batch)
            return
        body = self.encode(batch)
        if body:
            if self.compression == "gzip":
                body = gzip.compress(body, compresslevel=6, mtime=0)
            try:
                self.run(self._post(body))
            except ServiceError as failure:  # logged by the worker: no credential in it
                failure.args = (self._redactor.redact(str(failure.args[0])), *failure.args[1:])
                if isinstance(failure.body, str):
                    failure.body = self._redactor.redact(failure.body)
                raise

    async def _post(self, body: bytes) -> None:
        """POST ``body``, retrying as the OTLP/HTTP spec says, all within ``timeout``."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        limit = asyncio.timeout_at(deadline)
        try:
            async with limit:
                for attempt in itertools.count(1):
                    delay = await self._attempt(body, attempt, deadline)
                    if delay is None:
                        return
                    await asyncio.sleep(delay)
        except builtins.TimeoutError:
            if not limit.expired():
                raise
            raise TimeoutError(
                f"OTLP export to {self.endpoint.split('?', 1)[0]} did not finish within "
                f"timeout={self.timeout}s (retries included)",
                provider="otlp",
            ) from None

    async def _attempt(self, body: bytes, attempt: int, deadline: float) -> float | None:
        """One POST: None when it succeeded, else the seconds to wait before the next one;
        raises when the failure is final (not retryable, attempts or time used up)."""
        try:
            await self._client.request("POST", self.endpoint, data=body, headers=self._post_headers)
        except ServiceError as failure:
            retryable = failure.status is None or failure.status in _RETRY_STATUSES
            if not retryable or attempt >= self.retry.max_attempts:
                raise
            delay = self.retry.delay(attempt, getattr(failure, "retry_after", None))
            if asyncio.get_running_loop().time() + delay >= deadline:
                raise
            return delay
        return None

    def close_sink(self) -> None:
        # The HTTP session belongs to the worker thread's loop and closes when it ends.
        if self.span_exporter is not None:
            self.span_exporter.shutdown()

    # -- through an opentelemetry-sdk SpanExporter ----------------------------------------

    def _send_through_sdk(self, batch: list[SpanRecord]) -> None:
        from opentelemetry.sdk.trace.export import SpanExportResult

        result = self.span_exporter.export(self._convert(batch))
        if result is not SpanExportResult.SUCCESS:
            raise ConfigError(f"the OpenTelemetry exporter answered {result.name}")

    def _convert(self, batch: Sequence[SpanRecord]) -> list[Any]:
        """``batch`` as opentelemetry-sdk ``ReadableSpan``s (the same names, attributes and
        resources as :meth:`encode` writes)."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        scope = InstrumentationScope(*self._scope)
        resources = {s: Resource(self.resource_attributes(s)) for s in {r.service for r in batch}}
        return [_readable_span(record, resources[record.service], scope) for record in batch]


def _readable_span(record: SpanRecord, resource: Any, scope: Any) -> Any:
    from opentelemetry import trace as api
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace.status import Status, StatusCode

    sampled = api.TraceFlags(api.TraceFlags.SAMPLED)
    trace_id = int(record.trace_id, 16)
    parent = (
        api.SpanContext(trace_id, int(record.parent_id, 16), False, sampled)
        if record.parent_id
        else None
    )
    name, attributes = otel_attributes(record)
    return ReadableSpan(
        name,
        context=api.SpanContext(trace_id, int(record.span_id, 16), False, sampled),
        parent=parent,
        resource=resource,
        attributes=attributes,
        events=[
            Event(e.name, {k: otlp_value(v) for k, v in e.attributes.items()}, e.time_ns)
            for e in record.events
        ],
        kind=api.SpanKind.CLIENT if _kind(record) == KIND_CLIENT else api.SpanKind.INTERNAL,
        status=Status(
            StatusCode[record.status.upper()],
            record.status_message if record.status == "error" else None,
        ),
        start_time=record.start_ns,
        end_time=record.end_ns,
        instrumentation_scope=scope,
    )
