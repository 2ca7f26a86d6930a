"""W3C trace context: parsing and writing ``traceparent``, continuing a caller's trace,
outgoing HttpClient requests carrying the header, log lines carrying the ids."""

import io
import logging

import pytest

from mastra.http import HttpClient
from mastra.telemetry import (
    InMemoryExporter,
    SpanContext,
    Tracer,
    configure_logging,
    extract_traceparent,
    format_traceparent,
    get_logger,
    inject_traceparent,
)
from tests.servers import json_reply

TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_a_valid_header_names_the_remote_span():
    context = extract_traceparent(f"00-{TRACE}-{SPAN}-01", "vendor=x")
    assert context == SpanContext(TRACE, SPAN, sampled=True, remote=True, tracestate="vendor=x")
    assert not extract_traceparent(f"00-{TRACE}-{SPAN}-00").sampled
    # a later version may add fields; its flags' other bits are ignored
    assert extract_traceparent(f"01-{TRACE}-{SPAN}-03-extra").sampled


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE.upper()}-{SPAN}-01",  # upper-case hex is invalid
        f"00-{'0' * 32}-{SPAN}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"ff-{TRACE}-{SPAN}-01",  # version ff is forbidden
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-1",
    ],
)
def test_malformed_headers_are_ignored(header):
    assert extract_traceparent(header) is None


def test_continue_trace_makes_the_callers_span_the_parent():
    exporter = InMemoryExporter()
    tracer = Tracer(exporters=[exporter])
    with (
        tracer.continue_trace(f"00-{TRACE}-{SPAN}-01", "http.request", route="/x"),
        tracer.span("inner"),
    ):
        pass
    inner, outer = exporter.spans
    assert (outer.trace_id, outer.parent_id, outer.attributes) == (TRACE, SPAN, {"route": "/x"})
    assert (inner.trace_id, inner.parent_id) == (TRACE, outer.span_id)
    with tracer.continue_trace("not a header", "fresh"):
        pass
    fresh = exporter.spans[-1]
    assert fresh.parent_id is None and fresh.trace_id != TRACE


def test_an_unsampled_caller_is_honoured():
    exporter = InMemoryExporter()
    tracer = Tracer(exporters=[exporter])
    with tracer.continue_trace(f"00-{TRACE}-{SPAN}-00", "http.request") as span:
        headers = {}
        inject_traceparent(headers)
    assert exporter.spans == []
    assert headers == {"traceparent": f"00-{TRACE}-{span.span_id}-00"}


def test_inject_writes_the_current_span_and_respects_a_given_header():
    tracer = Tracer()
    headers = {}
    inject_traceparent(headers)
    assert headers == {}  # no span, no header
    with tracer.span("call") as span:
        inject_traceparent(headers)
        kept = {"TraceParent": "00-given"}
        inject_traceparent(kept)
    assert (
        headers["traceparent"]
        == format_traceparent(span)
        == (f"00-{span.trace_id}-{span.span_id}-01")
    )
    assert kept == {"TraceParent": "00-given"}
    remote = SpanContext(TRACE, SPAN, tracestate="k=v", remote=True)
    carried = {}
    inject_traceparent(carried, remote)
    assert carried == {"traceparent": f"00-{TRACE}-{SPAN}-01", "tracestate": "k=v"}


async def test_http_client_requests_carry_the_current_span(provider_server):
    url, script = await provider_server()
    script.add(json_reply({"ok": True}))
    tracer = Tracer()
    async with HttpClient(url) as client:
        await client.request("GET", "/outside")
        with tracer.span("model call") as span:
            await client.request("POST", "/inside", json={"a": 1})
    outside, inside = script.requests
    assert "traceparent" not in {k.lower() for k in outside["headers"]}
    assert inside["headers"]["traceparent"] == f"00-{span.trace_id}-{span.span_id}-01"


def test_text_logs_carry_trace_and_span_ids():
    stream = io.StringIO()
    configure_logging(format="text", stream=stream)
    with Tracer().span("work") as span:
        get_logger().warning("inside")
    get_logger().warning("outside")
    inside, outside = stream.getvalue().splitlines()
    assert inside.endswith(f"inside trace_id={span.trace_id} span_id={span.span_id}")
    assert outside.endswith("outside")


def test_any_handler_can_use_the_ids_the_filter_adds():
    from mastra.telemetry import TraceContextFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(logging.Formatter("%(message)s %(trace_id)s"))
    logger = logging.getLogger("mastra.test.filter")
    logger.addHandler(handler)
    try:
        with Tracer().span("work") as span:
            logger.warning("in")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"in {span.trace_id}\n"
