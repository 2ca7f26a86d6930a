"""Live scoring: sampled runs scored in the background, saved with run and trace ids; the
caller never waits, a full queue drops and counts, failures are counted."""

import asyncio
import math
import threading
import time

import pytest

from mastra import Agent, Mastra
from mastra.errors import ValidationError
from mastra.evals import LiveScoring, Sampling, Scorer, contains, exact_match
from mastra.llm.testing import FunctionModel
from mastra.storage import InMemoryStorage, SQLiteStorage
from mastra.telemetry import InMemoryExporter, Meter, Telemetry


async def test_an_agent_with_scorers_saves_scores_with_run_and_trace_ids(tmp_path):
    """Agent(scorers=...) in a registry: each run is scored in the background after it
    answers, and the score is kept with the run id and the agent.run span's trace id."""
    storage = SQLiteStorage(tmp_path / "scores.db")
    exporter = InMemoryExporter()
    telemetry = Telemetry("svc", exporters=[exporter])
    agent = Agent(
        "geo",
        "",
        FunctionModel(lambda r: "It is Paris."),
        scorers={contains("Paris"): Sampling(rate=1.0)},
    )
    app = Mastra(agents=[agent], storage=storage, telemetry=telemetry)
    result = await agent.generate("Capital of France?")
    await agent.aclose()  # finishes the scoring still queued
    [run_span] = [s for s in exporter.spans if s.name == "agent.run"]
    [score] = await storage.list_scores(run_id=result.run_id)
    assert (score.scorer_id, score.score, score.entity_id) == ("contains", 1.0, "geo")
    assert (score.trace_id, score.source, score.entity_type) == (run_span.trace_id, "live", "agent")
    assert score.input == "Capital of France?" and score.output == "It is Paris."
    assert score.steps["preprocess"] == ["Paris"]
    assert await storage.list_scores(entity_id="geo", scorer_id="contains") == [score]
    await app.aclose()


async def test_sampling_rates_are_honoured_per_scorer():
    storage = InMemoryStorage()
    often, rarely = Scorer("often", lambda run: 1), Scorer("rarely", lambda run: 1)
    scoring = LiveScoring({often: 0.5, rarely: Sampling(0.05)}, storage=storage, max_queue=10_000)
    runs = 2000
    queued = sum(
        scoring.submit(entity_id="a", input=i, output=i, run_id=f"r{i}") for i in range(runs)
    )
    assert await asyncio.to_thread(scoring.flush)
    counts = {
        id: len(await storage.list_scores(scorer_id=id, limit=10_000)) for id in ("often", "rarely")
    }
    for id, rate in (("often", 0.5), ("rarely", 0.05)):
        sigma = math.sqrt(runs * rate * (1 - rate))
        assert abs(counts[id] - runs * rate) <= 5 * sigma, counts
    assert sum(counts.values()) == queued
    await asyncio.to_thread(scoring.shutdown)


async def test_a_slow_scorer_never_delays_the_caller_and_overflow_is_counted():
    gate = threading.Event()

    def slow(run):
        gate.wait(5)
        return 1.0

    meter = Meter()
    scoring = LiveScoring(
        [Scorer("slow", slow)], storage=InMemoryStorage(), meter=meter, max_queue=10, interval=0.01
    )
    started = time.perf_counter()
    queued = [scoring.submit(entity_id="a", input=i, output=i) for i in range(500)]
    elapsed = time.perf_counter() - started
    assert elapsed < 0.25, elapsed  # 500 submissions against a stuck scorer
    assert 10 <= sum(queued) <= 10 + scoring.max_batch
    dropped = meter.counter("mastra.scores.dropped").value(
        worker="live-scoring", reason="queue_full"
    )
    assert dropped == 500 - sum(queued) == scoring.dropped
    gate.set()
    assert await asyncio.to_thread(scoring.flush)
    assert len(await scoring.storage.list_scores(limit=1000)) == sum(queued)
    await asyncio.to_thread(scoring.shutdown)


async def test_failed_scorers_are_counted_not_saved():
    meter = Meter()
    storage = InMemoryStorage()
    scoring = LiveScoring([exact_match()], storage=storage, meter=meter, interval=0.01)
    scoring.submit(entity_id="a", input="q", output="x")  # no expected value: exact-match fails
    assert await asyncio.to_thread(scoring.flush)
    assert await storage.list_scores() == []
    assert meter.counter("mastra.scores.failed").value(scorer="exact-match") == 1
    assert scoring.failed == 1
    await asyncio.to_thread(scoring.shutdown)


async def test_without_storage_scores_are_dropped_and_counted():
    meter = Meter()
    scoring = LiveScoring([contains("x")], meter=meter, interval=0.01)
    scoring.submit(entity_id="a", input="q", output="x")
    assert await asyncio.to_thread(scoring.flush)
    counter = meter.counter("mastra.scores.dropped")
    assert counter.value(worker="live-scoring", reason="no_storage") == 1
    await asyncio.to_thread(scoring.shutdown)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Sampling(1.5), "a sampling rate is a number from 0 to 1"),
        (lambda: LiveScoring({"contains": 0.5}), "live scoring needs Scorer keys"),
        (lambda: LiveScoring([contains("x")], concurrency=0), "concurrency must be an integer"),
    ],
)
def test_bad_live_scoring_settings(make, message):
    with pytest.raises(ValidationError, match=message):
        make()
