"""Background batching: a bounded queue that never blocks the caller, drops counted in the
meter, flush and shutdown; StorageExporter writes span trees into a real Storage."""

import asyncio
import threading
import time

import pytest

from mastra.errors import ValidationError
from mastra.storage import SQLiteStorage
from mastra.telemetry import BatchWorker, Meter, StorageExporter, Telemetry


class Collecting(BatchWorker):
    def __init__(self, gate=None, fail=False, **options):
        super().__init__("collecting", **options)
        self.batches = []
        self.gate = gate
        self.fail = fail

    def send(self, batch):
        if self.gate is not None:
            self.gate.wait()
        if self.fail:
            raise RuntimeError("receiver down")
        self.batches.append(batch)


def test_items_arrive_in_order_in_bounded_batches():
    worker = Collecting(max_batch=4, interval=0.01)
    for i in range(10):
        assert worker.put(i)
    assert worker.flush(5)
    assert [i for batch in worker.batches for i in batch] == list(range(10))
    assert max(len(b) for b in worker.batches) <= 4
    assert worker.sent == 10
    worker.shutdown()
    assert not worker.put(11)


def test_a_blocked_receiver_never_blocks_put_and_drops_are_counted():
    gate = threading.Event()
    meter = Meter()
    worker = Collecting(gate=gate, max_queue=8, max_batch=2, interval=0.01, meter=meter)
    worker.put(0)
    time.sleep(0.05)  # the worker takes item 0 and waits at the gate
    started = time.perf_counter()
    results = [worker.put(i) for i in range(1, 1001)]
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5  # a thousand puts against a stuck receiver: no waiting
    assert results.count(True) == 8 and worker.dropped == 992
    dropped = meter.counter("mastra.items.dropped")
    assert dropped.value(worker="collecting", reason="queue_full") == 992
    gate.set()
    assert worker.flush(5)
    assert sum(len(b) for b in worker.batches) == 9
    worker.shutdown()


def test_a_failing_receiver_is_counted_and_logged_not_raised(caplog):
    meter = Meter()
    worker = Collecting(fail=True, interval=0.01, meter=meter)
    for i in range(3):
        worker.put(i)
    with caplog.at_level("WARNING", logger="mastra.telemetry"):
        assert worker.flush(5)
    counter = meter.counter("mastra.items.dropped")
    assert counter.value(worker="collecting", reason="send_failed") == 3
    assert "could not send 3 items" in caplog.text and "receiver down" in caplog.text
    worker.shutdown()


def test_shutdown_sends_what_is_queued():
    worker = Collecting(interval=60)
    for i in range(5):
        worker.put(i)
    worker.shutdown(5)
    assert [i for batch in worker.batches for i in batch] == list(range(5))


@pytest.mark.parametrize("option", ["max_queue", "max_batch", "interval"])
def test_bad_options_are_refused(option):
    with pytest.raises(ValidationError, match=f"{option} must be a number > 0"):
        Collecting(**{option: 0})


async def test_storage_exporter_writes_the_span_tree(tmp_path):
    storage = SQLiteStorage(tmp_path / "spans.db")
    await storage.init()
    exporter = StorageExporter(storage, interval=0.01)
    telemetry = Telemetry("svc", exporters=[exporter])
    assert exporter.meter is telemetry.meter  # Telemetry attaches its meter
    with telemetry.tracer.span("root") as root:
        for i in range(3):
            with telemetry.tracer.span("child", i=i):
                await asyncio.sleep(0)
    assert await asyncio.to_thread(exporter.flush)
    spans = await storage.list_spans(trace_id=root.trace_id)
    assert [s.name for s in spans] == ["root", "child", "child", "child"]
    assert all(s.parent_id == root.span_id for s in spans[1:])
    assert [s.attributes["i"] for s in spans[1:]] == [0, 1, 2]
    await asyncio.to_thread(telemetry.shutdown)
    await storage.close()
