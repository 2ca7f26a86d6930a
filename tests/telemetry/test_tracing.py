import asyncio

import pytest

from mastra.telemetry import InMemoryExporter, Redactor, Tracer, current_span

SECRET = "sk-live-abcdefghijklmnop123456"


@pytest.fixture
def traced():
    exporter = InMemoryExporter()
    return Tracer("svc", exporters=[exporter], redactor=Redactor(env={})), exporter


def test_nesting_links_parent_and_trace(traced):
    tracer, exporter = traced
    with tracer.span("outer", a=1) as outer:
        with tracer.span("inner") as inner:
            assert current_span() is inner
        assert current_span() is outer
    assert current_span() is None
    inner_rec, outer_rec = exporter.spans
    assert inner_rec.parent_id == outer_rec.span_id
    assert inner_rec.trace_id == outer_rec.trace_id
    assert outer_rec.parent_id is None
    assert outer_rec.attributes == {"a": 1}
    assert outer_rec.status == inner_rec.status == "ok"
    assert outer_rec.start_ns <= inner_rec.start_ns <= inner_rec.end_ns <= outer_rec.end_ns


async def test_children_follow_tasks_through_gather(traced):
    tracer, exporter = traced

    @tracer.span("leaf")
    async def leaf(i):
        await asyncio.sleep(0.001 * (3 - i))
        with tracer.span("deep", i=i):
            await asyncio.sleep(0)
        return current_span()

    with tracer.span("root") as root:
        spans = await asyncio.gather(*(leaf(i) for i in range(3)))
    assert all(s is None or s.name == "leaf" for s in spans)
    records = {(r.name, r.attributes.get("i")): r for r in exporter.spans}
    leaves = [r for r in exporter.spans if r.name == "leaf"]
    assert len(leaves) == 3
    assert all(r.parent_id == root.span_id and r.trace_id == root.trace_id for r in leaves)
    leaf_ids = {r.span_id for r in leaves}
    for i in range(3):
        assert records[("deep", i)].parent_id in leaf_ids
    # each deep span's parent is the leaf of its own task, not a sibling's
    assert len({records[("deep", i)].parent_id for i in range(3)}) == 3


def test_exceptions_are_recorded_and_reraised(traced):
    tracer, exporter = traced
    with pytest.raises(KeyError), tracer.span("fails"):
        raise KeyError(f"no {SECRET}")
    [record] = exporter.spans
    assert record.status == "error"
    assert "KeyError" in record.status_message
    [event] = record.events
    assert event.name == "exception" and event.attributes["type"] == "KeyError"
    assert SECRET not in str(record)


def test_decorator_on_sync_function_and_explicit_status(traced):
    tracer, exporter = traced

    @tracer.span("compute", kind="sync")
    def compute(x):
        span = current_span()
        span.set_attribute("x", x)
        span.add_event("halfway", progress=0.5)
        span.set_status("error", "partial")
        return x * 2

    assert compute(21) == 42
    assert compute.__name__ == "compute"
    [record] = exporter.spans
    assert record.attributes == {"kind": "sync", "x": 21}
    assert record.events[0].attributes == {"progress": 0.5}
    assert (record.status, record.status_message) == ("error", "partial")


def test_attributes_are_redacted_at_set_time(traced):
    tracer, exporter = traced
    with tracer.span("call", api_key=SECRET, prompt=f"my key is {SECRET}"):
        pass
    [record] = exporter.spans
    assert record.attributes == {"api_key": "[REDACTED]", "prompt": "my key is [REDACTED]"}


def test_env_key_never_reaches_span_attributes(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key-that-looks-plain")
    exporter = InMemoryExporter()
    tracer = Tracer(exporters=[exporter])
    with tracer.span("request", url="https://x/?key=env-key-that-looks-plain"):
        pass
    assert "env-key-that-looks-plain" not in str(exporter.spans)


def test_disabled_tracer_records_nothing_and_can_be_enabled_later():
    exporter = InMemoryExporter()
    tracer = Tracer(exporters=[exporter], enabled=False)

    @tracer.span("later")
    def work():
        return current_span()

    with tracer.span("off") as span:
        span.set_attribute("x", 1)
        assert current_span() is None
    assert work() is None and exporter.spans == []
    tracer.enabled = True
    assert work().name == "later"
    assert [r.name for r in exporter.spans] == ["later"]


def test_manual_spans_and_double_end(traced):
    tracer, exporter = traced
    with tracer.span("parent") as parent:
        child = tracer.start_span("manual")
    child.end()
    child.end()
    assert [r.name for r in exporter.spans] == ["parent", "manual"]
    assert exporter.spans[1].parent_id == parent.span_id


async def test_cancellation_is_recorded(traced):
    tracer, exporter = traced

    @tracer.span("slow")
    async def slow():
        await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = exporter.spans
    assert record.status == "error" and "CancelledError" in record.status_message
