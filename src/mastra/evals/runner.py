"""``run_evals``: run a target (an agent, a workflow or a function) over eval items with
bounded concurrency, score every output with every scorer, and report."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from mastra.errors import ValidationError
from mastra.evals.data import EvalItem, load_dataset
from mastra.evals.report import EvalReport, ItemResult, failures_of, summarize
from mastra.evals.scorer import Scorer, is_pending

__all__ = ["run_evals"]

Call = Callable[[Any], Any]


def _workflow_call(workflow: Any) -> Call:
    async def call(input: Any) -> Any:
        result = await workflow.create_run().start(input)
        if result.status != "success":
            raise ValidationError(f"workflow ended {result.status}: {result.error}")
        return result.result

    return call


def target_call(target: Any) -> tuple[Call, str]:
    """How to run ``target`` on one input, and its name: an agent's ``generate``, a
    workflow's run (its result), or the function itself (sync or async)."""
    generate = getattr(target, "generate", None)
    if callable(generate) and not inspect.isfunction(target):
        return generate, f"agent {getattr(target, 'name', '?')}"
    if callable(getattr(target, "create_run", None)):
        return _workflow_call(target), f"workflow {getattr(target, 'id', '?')}"
    if callable(target):
        return target, getattr(target, "__qualname__", repr(target))
    raise ValidationError(
        f"an eval target is an Agent, a Workflow or a function, got {type(target).__name__}"
    )


def _value(output: Any) -> Any:
    """What a report keeps of an output: an agent result's text, else the output."""
    text = getattr(output, "text", None)
    return text if isinstance(text, str) and hasattr(output, "steps") else output


class _Progress:
    """A one-line progress bar on a terminal (nothing when off or not a terminal)."""

    def __init__(self, total: int, enabled: bool, stream: IO[str]) -> None:
        self.total, self.done = total, 0
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = self.shown = time.perf_counter()

    def advance(self) -> None:
        self.done += 1
        if self.enabled:
            now = time.perf_counter()
            if now - self.shown >= 0.1 or self.done == self.total:
                self.shown = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        width = 30
        filled = width * self.done // self.total
        rate = self.done / max(now - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"{rate:,.0f} items/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


async def _run_item(
    call: Call, scorers: Sequence[Scorer], index: int, item: EvalItem
) -> ItemResult:
    started = time.perf_counter()
    try:
        output = call(item.input)
        if is_pending(output):
            output = await output
    except Exception as exc:
        return ItemResult(
            index=index,
            id=item.id,
            input=item.input,
            expected=item.expected,
            error=f"{type(exc).__name__}: {exc}",
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    scores = {}
    for scorer in scorers:
        scores[scorer.id] = await scorer.run(item.input, output, item.expected, item.context)
    return ItemResult(
        index=index,
        id=item.id,
        input=item.input,
        expected=item.expected,
        output=_value(output),
        scores=scores,
        duration_ms=(time.perf_counter() - started) * 1000,
    )


def _check_scorers(scorers: Iterable[Scorer]) -> list[Scorer]:
    checked = list(scorers)
    if not checked or not all(isinstance(s, Scorer) for s in checked):
        raise ValidationError("scorers must be a non-empty list of mastra.evals.Scorer")
    ids = [s.id for s in checked]
    if len(set(ids)) != len(ids):
        raise ValidationError(f"two scorers share an id in {ids}; ids must be unique")
    return checked


async def run_evals(
    data: str | os.PathLike[str] | Iterable[Any],
    target: Any,
    scorers: Iterable[Scorer],
    concurrency: int = 8,
    progress: bool = True,
    *,
    name: str | None = None,
) -> EvalReport:
    """Run ``target`` on every item of ``data`` (see :func:`load_dataset`), at most
    ``concurrency`` at a time, and score each output with every scorer. A target that
    raises on an item, or a scorer that fails, is a failure in the report (with its
    reason), not an exception. ``progress`` draws a bar on stderr when it is a terminal.

    A sync function target runs on the event loop: make a slow one async (or wrap it with
    ``asyncio.to_thread``)."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    items = load_dataset(data)
    checked = _check_scorers(scorers)
    call, target_name = target_call(target)
    results: list[ItemResult | None] = [None] * len(items)
    bar = _Progress(len(items), progress, sys.stderr)
    pending = iter(enumerate(items))
    started_at, started = datetime.now(UTC), time.perf_counter()

    async def worker() -> None:
        for index, item in pending:  # workers share one iterator: each item runs once
            results[index] = await _run_item(call, checked, index, item)
            bar.advance()

    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(items)))))
    finally:
        bar.close()
    done = [r for r in results if r is not None]
    return EvalReport(
        name=name or target_name,
        target=target_name,
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        items=done,
        summaries={
            s.id: summarize(
                s.id, [r.scores[s.id] for r in done if s.id in r.scores], s.threshold is not None
            )
            for s in checked
        },
        failures=[f for r in done for f in failures_of(r)],
    )
