"""Live scoring: score a sample of real runs in the background and keep the scores.

``LiveScoring`` never delays the run that is scored: ``submit()`` draws the sample and
appends to a bounded queue; a background thread (with its own event loop) runs the scorers
and saves :class:`~mastra.storage.ScoreRecord`s with the run and trace ids. When the queue
is full the job is dropped and counted in ``mastra.scores.dropped``.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.errors import ValidationError
from mastra.evals.scorer import Scorer, output_text
from mastra.storage.types import ScoreRecord
from mastra.telemetry import BatchWorker, Meter, get_logger

if TYPE_CHECKING:
    from mastra.storage import Storage

__all__ = ["LiveScoring", "Sampling"]

_log = get_logger("evals")


class Sampling(msgspec.Struct, frozen=True):
    """Score a ``rate`` share of runs (0..1), drawn at random per run and scorer."""

    rate: float = 1.0

    def __post_init__(self) -> None:
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValidationError(f"a sampling rate is a number from 0 to 1, got {rate!r}")


class _Job(msgspec.Struct, frozen=True):
    scorer: Scorer
    entity_id: str
    run_id: str | None
    trace_id: str | None
    input: Any
    output: Any
    context: Any
    created_at: datetime


def _sampling(value: Sampling | float) -> Sampling:
    return value if isinstance(value, Sampling) else Sampling(value)


class LiveScoring(BatchWorker[_Job]):
    """Scores sampled runs in the background and saves the scores to ``storage``.

    Args:
        scorers: ``{scorer: Sampling(rate) or a rate}``, or scorers to run on every run.
        storage: where scores go (``bind`` sets it from the registry when not given).
        meter: counts ``mastra.scores.dropped`` (full queue, or no storage) and
            ``mastra.scores.failed`` (a scorer that failed).
        max_queue: scoring jobs waiting at most.
        concurrency: scorers running at once in the background.
        entity_type: what is scored (``"agent"`` or ``"workflow"``), kept on each score.
    """

    def __init__(
        self,
        scorers: Mapping[Scorer, Sampling | float] | Iterable[Scorer],
        *,
        storage: Storage | None = None,
        meter: Meter | None = None,
        max_queue: int = 1000,
        concurrency: int = 4,
        entity_type: str = "agent",
        interval: float = 0.5,
    ) -> None:
        pairs = (
            [(s, _sampling(r)) for s, r in scorers.items()]
            if isinstance(scorers, Mapping)
            else [(s, Sampling()) for s in scorers]
        )
        for scorer, _ in pairs:
            if not isinstance(scorer, Scorer):
                raise ValidationError(f"live scoring needs Scorer keys, got {scorer!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValidationError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        super().__init__(
            "live-scoring",
            max_queue=max_queue,
            max_batch=max(concurrency * 4, 16),
            interval=interval,
            meter=meter,
            kind="scores",
        )
        self.scorers = pairs
        self.storage = storage
        self.concurrency = concurrency
        self.entity_type = entity_type
        self.failed = 0

    def bind(self, *, storage: Storage | None = None, meter: Meter | None = None) -> None:
        """Use the registry's storage and meter for what was not given explicitly."""
        if self.storage is None:
            self.storage = storage
        if self.meter is None:
            self.meter = meter

    def submit(
        self,
        *,
        entity_id: str,
        input: Any,
        output: Any,
        run_id: str | None = None,
        trace_id: str | None = None,
        context: Any = None,
    ) -> int:
        """Sample this run for each scorer and queue the chosen ones; returns how many were
        queued. Takes microseconds and never waits: call it right after a run."""
        queued = 0
        for scorer, sampling in self.scorers:
            if sampling.rate < 1.0 and random.random() >= sampling.rate:
                continue
            job = _Job(
                scorer, entity_id, run_id, trace_id, input, output, context, datetime.now(UTC)
            )
            queued += self.put(job)
        return queued

    def send(self, batch: list[_Job]) -> None:
        storage = self.storage
        if storage is None:
            self.count_dropped(len(batch), "no_storage")
            _log.warning("live scoring has no storage; %d scores dropped", len(batch))
            return
        records = self.run(self._score_all(batch))
        if records:
            self.run(storage.save_scores(records))

    async def _score_all(self, batch: list[_Job]) -> list[ScoreRecord]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(job: _Job) -> ScoreRecord | None:
            async with limit:
                result = await job.scorer.run(job.input, job.output, None, job.context)
            if result.score is None:
                self._failed(job, result.error or "no score")
                return None
            return ScoreRecord(
                id=uuid.uuid4().hex,
                scorer_id=job.scorer.id,
                score=result.score,
                reason=result.reason,
                run_id=job.run_id,
                trace_id=job.trace_id,
                entity_type=self.entity_type,
                entity_id=job.entity_id,
                source="live",
                input=_stored(job.input),
                output=output_text(job.output),
                steps=_stored(result.steps),
                created_at=job.created_at,
            )

        scored = await asyncio.gather(*(one(job) for job in batch))
        return [record for record in scored if record is not None]

    def _failed(self, job: _Job, error: str) -> None:
        self.failed += 1
        if self.meter is not None:
            self.meter.counter("mastra.scores.failed", "live scorers that failed").add(
                1, scorer=job.scorer.id
            )
        _log.warning("live scorer %s failed on run %s: %s", job.scorer.id, job.run_id, error)


def _stored(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=repr)
