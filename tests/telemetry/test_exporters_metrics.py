import io
import threading

import pytest

from mastra import ConfigError, ValidationError
from mastra.telemetry import (
    ConsoleExporter,
    InMemoryExporter,
    JsonlExporter,
    Meter,
    Telemetry,
    Tracer,
    read_jsonl,
)


def test_jsonl_round_trip_from_threads(tmp_path):
    path = tmp_path / "sub" / "spans.jsonl"
    exporter = JsonlExporter(path)
    tracer = Tracer("svc", exporters=[exporter])

    def work(n):
        for i in range(50):
            with tracer.span("op", n=n, i=i, nested={"k": [1, 2]}):
                pass

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    exporter.shutdown()
    records = read_jsonl(path)
    assert len(records) == 200
    assert {(r.attributes["n"], r.attributes["i"]) for r in records} == {
        (n, i) for n in range(4) for i in range(50)
    }
    assert all(r.attributes["nested"] == {"k": [1, 2]} and r.service == "svc" for r in records)


def test_jsonl_torn_last_line_is_skipped_but_corruption_is_not(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = JsonlExporter(path)
    with Tracer(exporters=[exporter]).span("whole"):
        pass
    exporter.shutdown()
    with path.open("ab") as f:
        f.write(b'{"name": "torn", "trace')
    assert [r.name for r in read_jsonl(path)] == ["whole"]
    path.write_bytes(b"garbage\n" + path.read_bytes())
    with pytest.raises(ConfigError, match=":1 is not a span record"):
        read_jsonl(path)


def test_jsonl_unwritable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot open span file"):
        JsonlExporter(blocker / "spans.jsonl")


def test_console_and_bounded_memory_exporters():
    stream = io.StringIO()
    memory = InMemoryExporter(max_spans=2)
    tracer = Tracer("shop", exporters=[ConsoleExporter(stream), memory])
    for name in ("a", "b", "c"):
        with tracer.span(name, n=1):
            pass
    assert [r.name for r in memory.spans] == ["b", "c"]
    out = stream.getvalue().splitlines()
    assert len(out) == 3 and out[0].startswith("[shop] trace=") and " a " in out[0]
    assert '{"n":1}' in out[0] and " ok " in out[0]
    memory.clear()
    assert memory.spans == []


def test_counters_and_histograms_by_attributes():
    meter = Meter()
    calls = meter.counter("calls")
    assert meter.counter("calls") is calls
    calls.add(model="a")
    calls.add(2, model="a")
    calls.add(model="b")
    assert calls.value(model="a") == 3 and calls.value(model="b") == 1 and calls.value() == 0
    latency = meter.histogram("latency", buckets=[0.1, 1.0])
    for v in (0.05, 0.1, 0.5, 5.0):
        latency.record(v, route="/x")
    [point] = latency.collect()
    assert point.count == 4 and point.bucket_counts == [2, 1, 1]
    assert (point.min, point.max, point.sum) == (0.05, 5.0, pytest.approx(5.65))
    assert len(meter.collect()) == 3


def test_metric_validation_and_disabled_meter():
    meter = Meter()
    with pytest.raises(ValidationError, match="expected an amount >= 0"):
        meter.counter("c").add(-1)
    with pytest.raises(ValidationError, match="NaN"):
        meter.histogram("h").record(float("nan"))
    with pytest.raises(ValidationError, match="increasing"):
        meter.histogram("bad", buckets=[1, 1])
    off = Meter(enabled=False)
    off.counter("c").add(5)
    assert off.counter("c").value() == 0


def test_counter_is_exact_under_threads():
    counter = Meter().counter("n")

    def work():
        for _ in range(10_000):
            counter.add(1, k="v")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value(k="v") == 40_000


def test_telemetry_facade_from_config(monkeypatch):
    from mastra import load_config

    monkeypatch.setenv("VAULT_PASS", "hunter2-long-password")
    config = load_config(
        env={}, secrets=["VAULT_PASS"], telemetry={"enabled": True, "exporter": "memory"}
    )
    telemetry = Telemetry.from_config(config)
    [exporter] = telemetry.tracer.exporters
    with telemetry.tracer.span("x", note="pw hunter2-long-password"):
        pass
    assert exporter.spans[0].attributes["note"] == "pw [REDACTED]"
    assert "enabled" in repr(telemetry)
    assert Telemetry.from_config(load_config(env={})).enabled is False
