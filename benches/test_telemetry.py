"""What a span costs: a bare call, our span disabled and enabled, and OpenTelemetry's API
with no SDK installed (its no-op tracer), each around the same trivial function, 1000 calls
per round."""

import time

import pytest
from opentelemetry import trace as otel_trace

from mastra.telemetry import InMemoryExporter, Tracer

CALLS = 1000


def work(x):
    return x + 1


def bare():
    for i in range(CALLS):
        work(i)


def make_with(tracer):
    def run():
        for i in range(CALLS):
            with tracer.span("work"):
                work(i)

    return run


def make_decorated(tracer):
    traced = tracer.span("work")(work)

    def run():
        for i in range(CALLS):
            traced(i)

    return run


def otel_noop():
    tracer = otel_trace.get_tracer("bench")

    def run():
        for i in range(CALLS):
            with tracer.start_as_current_span("work"):
                work(i)

    return run


CASES = {
    "bare-call": lambda: bare,
    "mastra-disabled-with": lambda: make_with(Tracer(enabled=False)),
    "mastra-disabled-decorator": lambda: make_decorated(Tracer(enabled=False)),
    "otel-api-noop-with": otel_noop,
    "mastra-enabled-no-exporter": lambda: make_with(Tracer()),
    "mastra-enabled-memory-exporter": lambda: make_with(Tracer(exporters=[InMemoryExporter(1)])),
}


@pytest.mark.parametrize("case", list(CASES))
def test_span_overhead(benchmark, case):
    run = CASES[case]()
    benchmark.group = "span overhead (1000 calls)"
    benchmark(run)


# -- with OpenTelemetry export on -----------------------------------------------------------
# The same OTLP/HTTP receiver (benches/otlp_sink.py, another process) for both: our tracer with
# OTelExporter (its own protobuf encoder, posted with HttpClient), and opentelemetry-sdk's own
# tracer with a BatchSpanProcessor and its OTLPSpanExporter. "loop" is what the 1000 spans cost
# the calling thread (export runs in each side's background thread); "flushed" also waits until
# every span was encoded and posted, and counts the CPU time of every thread of the process:
# creating, encoding and posting the spans. CPU time, not wall time: on a shared machine the
# wall clock of two busy threads measures the scheduler. "plain" spans carry nothing but their
# name; "attributes" spans carry five GenAI-style attributes (text, ints, a float, a list) and
# one event.

ATTRIBUTES = {
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 120,
    "gen_ai.usage.output_tokens": 42,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.response.finish_reasons": ["stop"],
}


@pytest.fixture(scope="module")
def otlp_url():
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).with_name("otlp_sink.py")
    process = subprocess.Popen([sys.executable, str(script), str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1/traces"
    process.terminate()
    process.wait(10)


def mastra_otel(url, flushed, attributes):
    from mastra.telemetry.otel import OTelExporter

    exporter = OTelExporter(url, max_queue=10**6)
    tracer = Tracer(exporters=[exporter])
    if attributes:

        def run():
            for i in range(CALLS):
                with tracer.span("work", **ATTRIBUTES) as span:
                    span.add_event("first-token", index=i)
                    work(i)

    else:
        run = make_with(tracer)

    def close():
        exporter.shutdown()
        assert exporter.dropped == 0 and exporter.sent > 0  # every span was posted

    return (lambda: (run(), exporter.flush())) if flushed else run, close


def sdk_batch(url, flushed, attributes):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url), max_queue_size=10**6)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    given = ATTRIBUTES if attributes else None

    def run():
        for i in range(CALLS):
            with tracer.start_as_current_span("work", attributes=given) as span:
                if attributes:
                    span.add_event("first-token", {"index": i})
                work(i)

    return (lambda: (run(), processor.force_flush())) if flushed else run, provider.shutdown


EXPORT_CASES = {"mastra-otel-exporter": mastra_otel, "otel-sdk-batch-processor": sdk_batch}


MODES = [
    pytest.param("loop", marks=pytest.mark.benchmark(timer=time.thread_time)),
    pytest.param("flushed", marks=pytest.mark.benchmark(timer=time.process_time)),
]


@pytest.mark.parametrize("shape", ["plain", "attributes"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(EXPORT_CASES))
def test_span_cost_with_otel_export(benchmark, otlp_url, case, mode, shape):
    run, close = EXPORT_CASES[case](
        otlp_url, flushed=mode == "flushed", attributes=shape == "attributes"
    )
    benchmark.group = f"span cost with OTLP export on, {shape}, {mode} (CPU time, 1000 spans)"
    try:
        benchmark.pedantic(run, rounds=30, warmup_rounds=3)
    finally:
        close()
