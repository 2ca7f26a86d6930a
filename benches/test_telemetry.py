"""What a span costs: a bare call, our span disabled and enabled, and OpenTelemetry's API
with no SDK installed (its no-op tracer), each around the same trivial function, 1000 calls
per round."""

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
