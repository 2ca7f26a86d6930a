"""The nodes a workflow is built from (then, parallel, branch, loops, foreach, map, sleep) and
how each one runs its steps through an :class:`Executor` (the run)."""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from mastra.workflows.step import Step, StepContext

if TYPE_CHECKING:
    from mastra.workflows.workflow import Workflow

__all__ = [
    "Executor",
    "Node",
    "Parked",
    "Predicate",
    "StepFailed",
    "Suspended",
    "step_path",
]

Predicate = Callable[[Any], Any]

# A step's key in a run is its id, with "#n" for a loop iteration and "[i]" for a foreach
# item; a nested workflow's steps are keyed "<its key>.<step key>".
_MARKER = re.compile(r"#\d+|\[\d+\]")


def step_path(key: str, step_id: str) -> str | None:
    """What follows ``step_id`` in ``key`` once its loop/foreach marker is dropped: "" for
    the step itself, ".<rest>" inside a nested workflow, None when the key is not under it."""
    if not key.startswith(step_id):
        return None
    rest = key[len(step_id) :]
    marker = _MARKER.match(rest)
    if marker is not None:
        rest = rest[marker.end() :]
    return rest if rest == "" or rest.startswith(".") else None


class Suspended(Exception):
    """Raised through the nodes when steps suspended; the run stops as ``suspended``."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


class Parked(Exception):
    """Raised through the nodes when a queued run waits for a timer or an event: it stops
    as ``sleeping`` or ``waiting`` and holds no worker until ``wake_at`` (epoch seconds;
    None: until an event arrives)."""

    def __init__(self, status: str, wake_at: float | None) -> None:
        super().__init__(status)
        self.status, self.wake_at = status, wake_at

    @staticmethod
    def earliest(parked: list[Parked]) -> Parked:
        """Of several parked branches, the one that wakes first (an event wakes any)."""
        timed = [p for p in parked if p.wake_at is not None]
        return min(timed, key=lambda p: p.wake_at or 0.0) if timed else parked[0]


class StepFailed(Exception):
    """Raised through the nodes when a step failed for good; the run stops as ``failed``."""

    def __init__(self, key: str, error: str) -> None:
        super().__init__(f"step {key!r} failed: {error}")
        self.key, self.error = key, error


class Executor(Protocol):
    """What nodes need from the run that executes them."""

    @property
    def max_iterations(self) -> int: ...

    async def unit(self, target: Step | Workflow, data: Any, key: str) -> Any:
        """Run a step (or a nested workflow inline) under ``key``."""
        ...

    def context(self, key: str) -> StepContext: ...

    async def mapped(self, node: Map, data: Any, key: str) -> Any:
        """Run a map under ``key``, recorded and reported like a step (never retried)."""
        ...

    async def sleep_until(self, key: str, wake: Callable[[], float]) -> None:
        """Wait until the time ``wake()`` gives (epoch seconds; asked once, then recorded
        under ``key`` so a restart keeps the same deadline)."""
        ...


class Node(ABC):
    kind = "node"
    input: Any = None
    output: Any = None

    def targets(self) -> list[Step | Workflow]:
        """The steps and nested workflows this node runs."""
        return []

    def ids(self) -> list[str]:
        return [t.id for t in self.targets()]  # a nested workflow is one unit here

    def passes_type(self, previous: Any) -> Any:
        """The declared type of the data this node hands on, given what it received."""
        return self.output

    @abstractmethod
    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        """Run this node on ``data``; returns the data for the next node."""


class Then(Node):
    kind = "then"

    def __init__(self, target: Step | Workflow) -> None:
        self.target = target
        self.input, self.output = target.input, target.output

    def targets(self) -> list[Step | Workflow]:
        return [self.target]

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        return await run.unit(self.target, data, prefix + self.target.id)


def collect(outcomes: dict[str, Any]) -> dict[str, Any]:
    """Branch outputs by id: the first failure is raised, then the branch that wakes first
    of those parked on a timer or event, then the suspensions gathered."""
    suspended = [k for o in outcomes.values() if isinstance(o, Suspended) for k in o.keys]
    parked = [o for o in outcomes.values() if isinstance(o, Parked)]
    for outcome in outcomes.values():
        if isinstance(outcome, BaseException) and not isinstance(outcome, Suspended | Parked):
            raise outcome
    if parked:
        raise Parked.earliest(parked)
    if suspended:
        raise Suspended(suspended)
    return outcomes


async def _concurrently(
    run: Executor, targets: Sequence[Step | Workflow], data: Any, prefix: str
) -> dict[str, Any]:
    outcomes = await asyncio.gather(
        *(run.unit(t, data, prefix + t.id) for t in targets), return_exceptions=True
    )
    return collect({t.id: o for t, o in zip(targets, outcomes, strict=True)})


class Parallel(Node):
    kind = "parallel"
    output = dict

    def __init__(self, targets: Sequence[Step | Workflow]) -> None:
        self._targets = list(targets)

    def targets(self) -> list[Step | Workflow]:
        return list(self._targets)

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        return await _concurrently(run, self._targets, data, prefix)


async def check(predicate: Predicate, data: Any) -> bool:
    value = predicate(data)
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


class Branch(Node):
    kind = "branch"
    output = dict

    def __init__(self, branches: Sequence[tuple[Predicate, Step | Workflow]]) -> None:
        self.branches = list(branches)

    def targets(self) -> list[Step | Workflow]:
        return [t for _, t in self.branches]

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        chosen = [t for p, t in self.branches if await check(p, data)]
        return await _concurrently(run, chosen, data, prefix)


class Loop(Node):
    def __init__(self, target: Step | Workflow, predicate: Predicate, until: bool) -> None:
        self.target, self.predicate, self.until = target, predicate, until
        self.kind = "dountil" if until else "dowhile"
        self.input, self.output = target.input, target.output

    def targets(self) -> list[Step | Workflow]:
        return [self.target]

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        iteration = 0
        while True:
            data = await run.unit(self.target, data, f"{prefix}{self.target.id}#{iteration}")
            iteration += 1
            if await check(self.predicate, data) == self.until:
                return data
            if iteration >= run.max_iterations:
                raise StepFailed(
                    self.target.id,
                    f"{self.kind} stopped after {iteration} iterations (max_iterations)",
                )


class ForEach(Node):
    kind = "foreach"
    output = list

    def __init__(self, target: Step | Workflow, concurrency: int) -> None:
        self.target, self.concurrency = target, concurrency

    def targets(self) -> list[Step | Workflow]:
        return [self.target]

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        if not isinstance(data, list):
            raise StepFailed(self.target.id, f"foreach needs a list, got {type(data).__name__}")
        gate = asyncio.Semaphore(self.concurrency)

        async def one(index: int, item: Any) -> Any:
            async with gate:
                return await run.unit(self.target, item, f"{prefix}{self.target.id}[{index}]")

        outcomes = await asyncio.gather(
            *(one(i, x) for i, x in enumerate(data)), return_exceptions=True
        )
        collected = collect({str(i): o for i, o in enumerate(outcomes)})
        return [collected[str(i)] for i in range(len(outcomes))]


class Map(Node):
    """Reshapes the data with ``fn(data)`` or ``fn(data, ctx)``, sync or async. The run
    records and reports it like a step under ``id`` (``mapping_<position>``: the same in
    every process that builds the same workflow)."""

    kind = "map"

    def __init__(self, fn: Callable[..., Any], id: str) -> None:
        self.fn, self.id = fn, id
        self.arity = len(inspect.signature(fn).parameters)

    def ids(self) -> list[str]:
        return [self.id]

    def passes_type(self, previous: Any) -> Any:
        return None  # whatever fn returns

    async def apply(self, data: Any, context: Callable[[], StepContext]) -> Any:
        """``fn`` on ``data`` (``context()`` is asked for only when ``fn`` takes one)."""
        value = self.fn(data, context()) if self.arity >= 2 else self.fn(data)
        return await value if inspect.isawaitable(value) else value

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        return await run.mapped(self, data, prefix + self.id)


class Sleep(Node):
    """A durable timer: ``seconds`` from when the run reaches it, or until the time ``until``
    gives (a datetime, or a function of the data that returns one). Its deadline is
    recorded under ``id``; a queued run waits for it holding no worker."""

    kind = "sleep"

    def __init__(
        self,
        id: str,
        seconds: float | None = None,
        until: datetime | Callable[[Any], datetime] | None = None,
    ) -> None:
        self.id, self.seconds, self.until = id, seconds, until

    def passes_type(self, previous: Any) -> Any:
        return previous

    def _deadline(self, data: Any) -> float:
        if self.until is None:
            return time.time() + (self.seconds or 0.0)
        moment = self.until(data) if callable(self.until) else self.until
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise StepFailed(self.id, f"sleep_until needs an aware datetime, got {moment!r}")
        return moment.timestamp()

    async def run(self, run: Executor, data: Any, prefix: str) -> Any:
        await run.sleep_until(prefix + self.id, lambda: self._deadline(data))
        return data
