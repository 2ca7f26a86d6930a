"""``Workflow``: steps composed with then / parallel / branch / loops / foreach / map / sleep,
run durably: a snapshot after every node, suspend and resume (in another process too), and a
lease so one run never executes twice at once."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

import msgspec

from mastra.errors import NotFoundError, WorkflowError
from mastra.storage import WorkflowRun
from mastra.telemetry import Tracer
from mastra.workflows.step import Step, StepContext, StepResult, Suspend

__all__ = ["Run", "Workflow", "WorkflowEvent", "WorkflowResult"]

_QUIET = Tracer(enabled=False)
# When snapshots are written: after every node, waited for ("sync"); in the background, the
# latest state whenever the previous write is done, flushed before the run returns ("async");
# only when the run stops — finished, failed, suspended or canceled ("exit").
Durability = Literal["sync", "async", "exit"]
_LEASE_SECONDS = 300.0


class WorkflowEvent(msgspec.Struct, frozen=True):
    """``step-start``, ``step-finish``, ``step-suspend``, ``step-error``, ``run-finish``."""

    type: str
    run_id: str
    step: str | None = None
    payload: Any = None


class WorkflowResult(msgspec.Struct, kw_only=True):
    status: str  # success | failed | suspended | canceled
    result: Any = None
    steps: dict[str, StepResult] = {}
    error: str | None = None
    suspended: list[str] = []


class _Suspended(Exception):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


class _StepFailed(Exception):
    def __init__(self, key: str, error: str) -> None:
        super().__init__(f"step {key!r} failed: {error}")
        self.key, self.error = key, error


# -- nodes ---------------------------------------------------------------------------------


def _as_step(item: Any) -> Step | Workflow:
    if isinstance(item, (Step, Workflow)):
        return item
    from mastra.agent import Agent
    from mastra.tools import Tool

    if isinstance(item, Agent):
        agent = item

        async def ask(ctx: StepContext, data: Any) -> dict[str, Any]:
            prompt = data["prompt"] if isinstance(data, dict) else str(data)
            result = await agent.generate(prompt)
            return {"text": result.text}

        return Step(agent.name, ask, description=agent.description)
    if isinstance(item, Tool):
        tool_ = item

        async def use(ctx: StepContext, data: Any) -> Any:
            from mastra.messages import ToolCall

            outcome = await tool_.run(
                ToolCall(f"{ctx.run_id}:{ctx.step_id}", tool_.id, msgspec.to_builtins(data))
            )
            if outcome.error is not None:
                raise WorkflowError(outcome.error)
            return outcome.result.content

        return Step(tool_.id, use, input=tool_.input, description=tool_.description)
    raise WorkflowError(f"{item!r} is not a step, workflow, agent or tool")


def _ids(item: Step | Workflow) -> list[str]:
    return [item.id]  # a nested workflow is one unit; its steps run under "<id>." keys


class _Node(ABC):
    kind = "node"
    input: Any = None
    output: Any = None

    def ids(self) -> list[str]:
        return []

    @abstractmethod
    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        """Run this node on ``data``; returns the data for the next node."""


class _Then(_Node):
    kind = "then"

    def __init__(self, target: Step | Workflow) -> None:
        self.target = target
        self.input = target.input
        self.output = target.output

    def ids(self) -> list[str]:
        return _ids(self.target)

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        return await run._unit(self.target, data, prefix + self.target.id)


class _Parallel(_Node):
    kind = "parallel"
    output = dict

    def __init__(self, targets: Sequence[Step | Workflow]) -> None:
        self.targets = list(targets)

    def ids(self) -> list[str]:
        return [i for t in self.targets for i in _ids(t)]

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        outcomes = await asyncio.gather(
            *(run._unit(t, data, prefix + t.id) for t in self.targets), return_exceptions=True
        )
        return _collect({t.id: o for t, o in zip(self.targets, outcomes, strict=True)})


def _collect(outcomes: dict[str, Any]) -> dict[str, Any]:
    """Branch outputs by id; suspensions gathered; the first failure raised."""
    suspended = [k for o in outcomes.values() if isinstance(o, _Suspended) for k in o.keys]
    for outcome in outcomes.values():
        if isinstance(outcome, BaseException) and not isinstance(outcome, _Suspended):
            raise outcome
    if suspended:
        raise _Suspended(suspended)
    return outcomes


Predicate = Callable[[Any], Any]


async def _check(predicate: Predicate, data: Any) -> bool:
    value = predicate(data)
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


class _Branch(_Node):
    kind = "branch"
    output = dict

    def __init__(self, branches: Sequence[tuple[Predicate, Step | Workflow]]) -> None:
        self.branches = list(branches)

    def ids(self) -> list[str]:
        return [i for _, t in self.branches for i in _ids(t)]

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        chosen = [t for p, t in self.branches if await _check(p, data)]
        outcomes = await asyncio.gather(
            *(run._unit(t, data, prefix + t.id) for t in chosen), return_exceptions=True
        )
        return _collect({t.id: o for t, o in zip(chosen, outcomes, strict=True)})


class _Loop(_Node):
    def __init__(self, target: Step | Workflow, predicate: Predicate, until: bool) -> None:
        self.target, self.predicate, self.until = target, predicate, until
        self.kind = "dountil" if until else "dowhile"
        self.input, self.output = target.input, target.output

    def ids(self) -> list[str]:
        return _ids(self.target)

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        iteration = 0
        while True:
            data = await run._unit(self.target, data, f"{prefix}{self.target.id}#{iteration}")
            iteration += 1
            if await _check(self.predicate, data) == self.until:
                return data
            if iteration >= run.workflow.max_iterations:
                raise _StepFailed(
                    self.target.id,
                    f"{self.kind} stopped after {iteration} iterations (max_iterations)",
                )


class _ForEach(_Node):
    kind = "foreach"
    output = list

    def __init__(self, target: Step | Workflow, concurrency: int) -> None:
        self.target, self.concurrency = target, concurrency

    def ids(self) -> list[str]:
        return _ids(self.target)

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        if not isinstance(data, list):
            raise _StepFailed(self.target.id, f"foreach needs a list, got {type(data).__name__}")
        gate = asyncio.Semaphore(self.concurrency)

        async def one(index: int, item: Any) -> Any:
            async with gate:
                return await run._unit(self.target, item, f"{prefix}{self.target.id}[{index}]")

        outcomes = await asyncio.gather(
            *(one(i, x) for i, x in enumerate(data)), return_exceptions=True
        )
        collected = _collect({str(i): o for i, o in enumerate(outcomes)})
        return [collected[str(i)] for i in range(len(outcomes))]


class _Map(_Node):
    kind = "map"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.arity = len(inspect.signature(fn).parameters)

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        value = self.fn(data, run._context("map", 0, prefix)) if self.arity >= 2 else self.fn(data)
        return await value if inspect.isawaitable(value) else value


class _Sleep(_Node):
    kind = "sleep"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def run(self, run: Run, data: Any, prefix: str) -> Any:
        await asyncio.sleep(self.seconds)
        return data


# -- the workflow --------------------------------------------------------------------------


class Workflow:
    """A durable pipeline of steps.

    >>> wf = Workflow("etl", input=Query).then(fetch).parallel([clean, enrich]).then(save)
    >>> wf.commit()
    >>> result = await wf.create_run().start(Query(...))
    """

    def __init__(
        self,
        id: str,
        input: Any = None,
        output: Any = None,
        *,
        storage: Any = None,
        durability: Durability = "sync",
        max_iterations: int = 1000,
        description: str = "",
    ) -> None:
        if not isinstance(id, str) or not id:
            raise WorkflowError(f"a workflow needs a non-empty string id, got {id!r}")
        self.id, self.input, self.output = id, input, output
        if durability not in ("sync", "async", "exit"):
            raise WorkflowError(f"durability must be 'sync', 'async' or 'exit', got {durability!r}")
        self.storage = storage
        self.durability = durability
        self.max_iterations = max_iterations
        self.description = description
        self.nodes: list[_Node] = []
        self.committed = False
        self.mastra: Any = None
        self.telemetry: Any = None

    def bind(self, mastra: Any) -> None:
        """Called by :class:`mastra.Mastra`: use its storage and telemetry."""
        self.mastra = mastra
        if self.storage is None:
            self.storage = mastra.storage
        self.telemetry = mastra.telemetry

    def _add(self, node: _Node) -> Workflow:
        if self.committed:
            raise WorkflowError(f"workflow {self.id!r} is committed; build a new one to change it")
        self.nodes.append(node)
        return self

    def then(self, item: Any) -> Workflow:
        return self._add(_Then(_as_step(item)))

    def parallel(self, items: Sequence[Any]) -> Workflow:
        return self._add(_Parallel([_as_step(i) for i in items]))

    def branch(self, branches: Sequence[tuple[Predicate, Any]]) -> Workflow:
        return self._add(_Branch([(p, _as_step(i)) for p, i in branches]))

    def dowhile(self, item: Any, predicate: Predicate) -> Workflow:
        return self._add(_Loop(_as_step(item), predicate, until=False))

    def dountil(self, item: Any, predicate: Predicate) -> Workflow:
        return self._add(_Loop(_as_step(item), predicate, until=True))

    def foreach(self, item: Any, concurrency: int = 1) -> Workflow:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise WorkflowError(f"foreach concurrency must be an integer >= 1, got {concurrency!r}")
        return self._add(_ForEach(_as_step(item), concurrency))

    def map(self, fn: Callable[..., Any]) -> Workflow:
        return self._add(_Map(fn))

    def sleep(self, seconds: float) -> Workflow:
        return self._add(_Sleep(seconds))

    def commit(self) -> Workflow:
        """Check the graph: at least one node, unique step ids, and adjacent declared types
        that fit (the output of one node is the declared input of the next)."""
        if not self.nodes:
            raise WorkflowError(f"workflow {self.id!r} has no steps")
        seen: set[str] = set()
        for node in self.nodes:
            for step_id in node.ids():
                if step_id in seen:
                    raise WorkflowError(
                        f"workflow {self.id!r} uses the step id {step_id!r} "
                        "twice; step ids must be unique"
                    )
                seen.add(step_id)
        previous = self.input
        for node in self.nodes:
            wanted = node.input
            if previous is not None and wanted is not None and not _fits(previous, wanted):
                raise WorkflowError(
                    f"workflow {self.id!r}: {node.kind} {node.ids()} takes "
                    f"{_name(wanted)} but receives {_name(previous)}"
                )
            previous = (
                node.output
                if not isinstance(node, (_Map, _Sleep))
                else (None if isinstance(node, _Map) else previous)
            )
        if self.output is not None and previous is not None and not _fits(previous, self.output):
            raise WorkflowError(
                f"workflow {self.id!r} returns {_name(previous)} but declares "
                f"output {_name(self.output)}"
            )
        self.committed = True
        return self

    def create_run(self, run_id: str | None = None) -> Run:
        if not self.committed:
            self.commit()
        return Run(self, run_id or uuid.uuid4().hex)

    async def get_run(self, run_id: str) -> Run:
        """Reload a run from storage (after a restart, or in another process)."""
        if self.storage is None:
            raise WorkflowError(f"workflow {self.id!r} has no storage to load runs from")
        stored = await self.storage.get_workflow_run(self.id, run_id)
        if stored is None:
            raise NotFoundError(f"no run {run_id!r} of workflow {self.id!r}")
        return Run.restore(self, stored)

    async def list_runs(self, status: str | None = None, limit: int = 50) -> list[WorkflowRun]:
        if self.storage is None:
            return []
        return list(await self.storage.list_workflow_runs(self.id, status=status, limit=limit))

    def __repr__(self) -> str:
        return f"Workflow({self.id!r}, {len(self.nodes)} nodes)"


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", repr(kind))


def _fits(given: Any, wanted: Any) -> bool:
    if given is wanted or wanted is Any or given is Any:
        return True
    return isinstance(given, type) and isinstance(wanted, type) and issubclass(given, wanted)


# -- runs ----------------------------------------------------------------------------------


class Run:
    """One execution of a workflow; ``start``, ``resume``, ``cancel``, ``stream``, ``watch``."""

    def __init__(self, workflow: Workflow, run_id: str) -> None:
        self.workflow, self.run_id = workflow, run_id
        self.status = "pending"
        self.position = 0
        self.data: Any = None
        self.input: Any = None
        self.results: dict[str, StepResult] = {}
        self.suspended: list[str] = []
        self.error: str | None = None
        self._resume: dict[str, Any] = {}
        self._task: asyncio.Task[WorkflowResult] | None = None
        self._watchers: list[asyncio.Queue[WorkflowEvent | None]] = []
        self._owner = uuid.uuid4().hex
        self._writer: asyncio.Future[None] | None = None
        self._dirty = False

    @classmethod
    def restore(cls, workflow: Workflow, stored: WorkflowRun) -> Run:
        run = cls(workflow, stored.run_id)
        snap = stored.snapshot or {}
        run.status = stored.status
        run.position = snap.get("position", 0)
        run.data, run.input = snap.get("data"), snap.get("input")
        run.results = {
            k: msgspec.convert(v, StepResult) for k, v in snap.get("results", {}).items()
        }
        run.suspended = list(snap.get("suspended", []))
        run.error = snap.get("error")
        return run

    @property
    def _tracer(self) -> Tracer:
        telemetry = self.workflow.telemetry
        return telemetry.tracer if telemetry is not None else _QUIET

    # -- public ---------------------------------------------------------------------------

    async def start(self, input: Any = None) -> WorkflowResult:
        """Run from the beginning with ``input`` (validated against the workflow's input)."""
        if self.status != "pending":
            raise WorkflowError(f"run {self.run_id!r} has already started ({self.status})")
        if self.workflow.input is not None:
            try:
                input = msgspec.convert(msgspec.to_builtins(input), self.workflow.input)
            except msgspec.ValidationError as exc:
                raise WorkflowError(
                    f"workflow {self.workflow.id!r} input is not "
                    f"{_name(self.workflow.input)}: {exc}"
                ) from None
        self.input = self.data = input
        return await self._launch()

    async def resume(self, step: str | None = None, data: Any = None) -> WorkflowResult:
        """Continue a suspended run: ``step`` (default: the only suspended one) sees
        ``ctx.resume_data == data``."""
        if self.status != "suspended":
            raise WorkflowError(f"run {self.run_id!r} is {self.status}, not suspended")
        if step is None:
            if len(self.suspended) != 1:
                raise WorkflowError(
                    f"run {self.run_id!r} has suspended steps "
                    f"{self.suspended}; name the one to resume"
                )
            step = self.suspended[0]
        if step not in self.suspended:
            raise WorkflowError(f"step {step!r} is not suspended; suspended: {self.suspended}")
        self._resume[step] = data
        return await self._launch()

    def cancel(self) -> None:
        """Stop a running run; its result (and snapshot) says ``canceled``."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def stream(self, input: Any = None) -> AsyncIterator[WorkflowEvent]:
        """Start the run and yield its events until it finishes."""
        events = self.watch()
        task = asyncio.ensure_future(self.start(input))
        async for event in events:
            yield event
        await task

    async def watch(self) -> AsyncIterator[WorkflowEvent]:
        """Events of this run from now until it finishes."""
        queue: asyncio.Queue[WorkflowEvent | None] = asyncio.Queue()
        self._watchers.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._watchers.remove(queue)

    # -- execution ------------------------------------------------------------------------

    def _emit(self, type: str, step: str | None = None, payload: Any = None) -> None:
        event = WorkflowEvent(type, self.run_id, step, payload)
        for queue in self._watchers:
            queue.put_nowait(event)

    async def _launch(self) -> WorkflowResult:
        self._task = asyncio.ensure_future(self._execute())
        try:
            return await asyncio.shield(self._task)
        finally:
            for queue in self._watchers:
                queue.put_nowait(None)

    async def _execute(self) -> WorkflowResult:
        storage = self.workflow.storage
        lease = f"workflow:{self.workflow.id}:{self.run_id}"
        if storage is not None and not await storage.acquire_lease(
            lease, self._owner, _LEASE_SECONDS
        ):
            raise WorkflowError(
                f"run {self.run_id!r} of {self.workflow.id!r} is executing "
                "elsewhere; try again when it has stopped"
            )
        self.status, self.suspended, self.error = "running", [], None
        try:
            with self._tracer.span("workflow.run", workflow=self.workflow.id, run_id=self.run_id):
                try:
                    for index in range(self.position, len(self.workflow.nodes)):
                        self.position = index
                        self.data = await self.workflow.nodes[index].run(self, self.data, "")
                        self.position = index + 1
                        await self._save(final=False)
                    self.status = "success"
                except _Suspended as exc:
                    self.status, self.suspended = "suspended", exc.keys
                except _StepFailed as exc:
                    self.status, self.error = "failed", str(exc)
                except asyncio.CancelledError:
                    self.status, self.error = "canceled", "canceled"
                await self._save(final=True)
        finally:
            if storage is not None:
                await storage.release_lease(lease, self._owner)
        self._emit("run-finish", payload=self.status)
        return WorkflowResult(
            status=self.status,
            result=self.data if self.status == "success" else None,
            steps=dict(self.results),
            error=self.error,
            suspended=list(self.suspended),
        )

    async def _save(self, *, final: bool) -> None:
        """Write the snapshot as the workflow's durability says. In "async" mode one
        background writer keeps storing the latest state while nodes run (states that
        arrive while a write is in flight are coalesced); the final save waits for it."""
        storage, mode = self.workflow.storage, self.workflow.durability
        if storage is None or (mode == "exit" and not final):
            return
        if mode == "async" and not final:
            self._dirty = True
            if self._writer is None or self._writer.done():
                self._writer = asyncio.ensure_future(self._drain(storage))
            return
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer
        await storage.save_workflow_run(self._snapshot())

    async def _drain(self, storage: Any) -> None:
        while self._dirty:
            self._dirty = False
            await storage.save_workflow_run(self._snapshot())

    def _snapshot(self) -> WorkflowRun:
        return WorkflowRun(
            workflow_id=self.workflow.id,
            run_id=self.run_id,
            status=self.status,
            snapshot={
                "position": self.position,
                "data": msgspec.to_builtins(self.data),
                "input": msgspec.to_builtins(self.input),
                "results": msgspec.to_builtins(self.results),
                "suspended": self.suspended,
                "error": self.error,
            },
        )

    def _context(self, key: str, attempt: int, prefix: str) -> StepContext:
        return StepContext(
            workflow_id=self.workflow.id,
            run_id=self.run_id,
            step_id=key,
            attempt=attempt,
            resume_data=self._resume.get(key),
            results=self.results,
            mastra=self.workflow.mastra,
        )

    async def _unit(self, target: Step | Workflow, data: Any, key: str) -> Any:
        if isinstance(target, Workflow):
            for node in target.nodes:  # a nested workflow runs inline, its steps prefixed
                data = await node.run(self, data, key + ".")
            return data
        return await self._step(target, data, key)

    async def _step(self, step: Step, data: Any, key: str) -> Any:
        done = self.results.get(key)
        if done is not None and done.status == "success":
            return done.output  # finished before a suspend or restart
        started = time.time()
        self._emit("step-start", key)
        error = ""
        with self._tracer.span("workflow.step", step=key) as span:
            for attempt in range(step.retries + 1):
                ctx = self._context(key, attempt, "")
                try:
                    call = step.call(ctx, data)
                    output = await (asyncio.wait_for(call, step.timeout) if step.timeout else call)
                except Suspend as signal:
                    self.results[key] = StepResult(
                        status="suspended",
                        suspend_payload=signal.payload,
                        started_at=started,
                        ended_at=time.time(),
                        attempts=attempt + 1,
                    )
                    self._emit("step-suspend", key, signal.payload)
                    raise _Suspended([key]) from None
                except (asyncio.CancelledError, _Suspended, _StepFailed):
                    raise
                except TimeoutError:
                    error = f"timed out after {step.timeout} s"
                except Exception as exc:  # recorded on the step, then retried or reported
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    self._resume.pop(key, None)
                    self.results[key] = StepResult(
                        status="success",
                        output=output,
                        started_at=started,
                        ended_at=time.time(),
                        attempts=attempt + 1,
                    )
                    self._emit("step-finish", key, msgspec.to_builtins(output))
                    return output
                if attempt < step.retries:
                    await asyncio.sleep(step.backoff * 2**attempt)
            span.set_status("error", error)
        self.results[key] = StepResult(
            status="failed",
            error=error,
            started_at=started,
            ended_at=time.time(),
            attempts=step.retries + 1,
        )
        self._emit("step-error", key, error)
        raise _StepFailed(key, error)
