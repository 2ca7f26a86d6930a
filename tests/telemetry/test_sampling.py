"""Samplers on our tracer: always, never, a ratio of trace ids (within statistical
tolerance), the parent's decision, a custom function; failed spans kept on request."""

import math

import pytest

from mastra.errors import ValidationError
from mastra.telemetry import (
    AlwaysOff,
    AlwaysOn,
    InMemoryExporter,
    ParentBased,
    SpanContext,
    TraceIdRatio,
    Tracer,
)


def traced(sampler, keep_errors=True):
    exporter = InMemoryExporter()
    return Tracer(exporters=[exporter], sampler=sampler, keep_errors=keep_errors), exporter


def trees(tracer, count, children=2):
    for _ in range(count):
        with tracer.span("root"):
            for _ in range(children):
                with tracer.span("child"):
                    pass


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_ratio_sampling_is_within_tolerance_and_keeps_traces_whole(rate):
    tracer, exporter = traced(ParentBased(TraceIdRatio(rate)))
    traces = 4000
    trees(tracer, traces)
    roots = [s for s in exporter.spans if s.name == "root"]
    expected, sigma = traces * rate, math.sqrt(traces * rate * (1 - rate))
    assert abs(len(roots) - expected) <= 5 * sigma + 1e-9, (len(roots), expected)
    kept = {s.trace_id for s in roots}
    children = [s for s in exporter.spans if s.name == "child"]
    assert len(children) == 2 * len(roots)  # a trace is exported whole or not at all
    assert {s.trace_id for s in children} == kept


def test_the_ratio_decision_depends_on_the_trace_id_alone():
    sampler = TraceIdRatio(0.5)
    low, high = "f" * 16 + "0" * 16, "0" * 16 + "f" * 16
    assert sampler("a", low, None, {}) and sampler("b", low, None, {"x": 1})
    assert not sampler("a", high, None, {})


def test_always_never_and_the_default():
    for sampler, kept in [(AlwaysOn(), 3), (AlwaysOff(), 0), (None, 3)]:
        tracer, exporter = traced(sampler)
        trees(tracer, 1)
        assert len(exporter.spans) == kept


def test_a_plain_function_is_a_sampler_and_sees_the_span_to_be():
    seen = []

    def only_agents(name, trace_id, parent, attributes):
        seen.append((name, len(trace_id), parent is None, dict(attributes)))
        return name == "agent.run"

    tracer, exporter = traced(only_agents)
    with tracer.span("agent.run", agent="a"):
        pass
    with tracer.span("other"):
        pass
    assert [s.name for s in exporter.spans] == ["agent.run"]
    assert seen == [("agent.run", 32, True, {"agent": "a"}), ("other", 32, True, {})]


def test_parent_based_follows_a_remote_parent_both_ways():
    tracer, exporter = traced(ParentBased(AlwaysOff()))
    sampled = SpanContext("a" * 32, "b" * 16, sampled=True, remote=True)
    unsampled = SpanContext("c" * 32, "d" * 16, sampled=False, remote=True)
    tracer.start_span("in", parent=sampled).end()
    tracer.start_span("out", parent=unsampled).end()
    with tracer.span("root"):
        pass
    [span] = exporter.spans
    assert (span.name, span.trace_id, span.parent_id) == ("in", "a" * 32, "b" * 16)


def test_failed_spans_of_unsampled_traces_are_kept_with_their_open_ancestors():
    tracer, exporter = traced(AlwaysOff())
    with tracer.span("root"):
        with tracer.span("fine"):
            pass
        with tracer.span("parent"), pytest.raises(ValueError), tracer.span("fails"):
            raise ValueError("boom")
    names = [s.name for s in exporter.spans]
    assert names == ["fails", "parent", "root"]  # "fine" ended before and stays dropped
    by_name = {s.name: s for s in exporter.spans}
    assert by_name["fails"].status == "error" and by_name["parent"].status == "ok"
    assert by_name["fails"].parent_id == by_name["parent"].span_id


def test_errors_are_dropped_too_when_not_kept():
    tracer, exporter = traced(AlwaysOff(), keep_errors=False)
    with pytest.raises(ValueError), tracer.span("fails"):
        raise ValueError("boom")
    assert exporter.spans == []


@pytest.mark.parametrize("rate", [-0.1, 1.5, "0.5", True, float("nan")])
def test_bad_rates_are_refused(rate):
    with pytest.raises(ValidationError, match="a sampling rate is a number from 0 to 1"):
        TraceIdRatio(rate)
