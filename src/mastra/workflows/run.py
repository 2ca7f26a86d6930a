"""``Run``: one execution of a workflow — start, resume, recover, cancel, events — as a state
machine whose every transition is checked against the stored run under its lease."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.errors import LeaseLostError, WorkflowError
from mastra.loops import run_sync
from mastra.storage import WorkflowRun
from mastra.telemetry import Tracer
from mastra.workflows.nodes import StepFailed, Suspended
from mastra.workflows.persist import RunStore
from mastra.workflows.step import Step, StepContext, StepResult, Suspend, conform

if TYPE_CHECKING:
    from mastra.workflows.workflow import Workflow

__all__ = ["Run", "WorkflowEvent", "WorkflowResult"]

_QUIET = Tracer(enabled=False)


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


class _Held(Exception):
    """Another live process holds the run's lease."""


class _NotOrphaned(Exception):
    """The stored run is not one that ``recover`` should continue."""


# Checks a transition against the stored run (None: not stored, or no storage) and prepares
# the run's state for it; raises to refuse. Runs while the run's lease is held.
Entry = Callable[[WorkflowRun | None], None]


class Run:
    """One execution of a workflow; ``start``, ``resume``, ``recover``, ``cancel``,
    ``stream``, ``watch``."""

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
        self._lost = False

    @classmethod
    def restore(cls, workflow: Workflow, stored: WorkflowRun) -> Run:
        run = cls(workflow, stored.run_id)
        run._adopt(stored)
        return run

    def _adopt(self, stored: WorkflowRun) -> None:
        """Take the stored state as the truth (another process may have moved the run on)."""
        snap = stored.snapshot or {}
        self.status = stored.status
        self.position = snap.get("position", 0)
        self.data, self.input = snap.get("data"), snap.get("input")
        self.results = {
            k: msgspec.convert(v, StepResult) for k, v in snap.get("results", {}).items()
        }
        self.suspended = list(snap.get("suspended", []))
        self.error = snap.get("error")
        self._resume = dict(snap.get("resume", {}))

    @property
    def _tracer(self) -> Tracer:
        telemetry = self.workflow.telemetry
        return telemetry.tracer if telemetry is not None else _QUIET

    @property
    def max_iterations(self) -> int:
        return self.workflow.max_iterations

    # -- public ---------------------------------------------------------------------------

    async def start(self, input: Any = None) -> WorkflowResult:
        """Run from the beginning with ``input`` (validated against the workflow's input)."""
        if self.status != "pending":
            raise WorkflowError(f"run {self.run_id!r} has already started ({self.status})")
        if self.workflow.input is not None:
            input = conform(input, self.workflow.input, f"workflow {self.workflow.id!r} input")

        def enter(stored: WorkflowRun | None) -> None:
            if stored is not None:
                raise WorkflowError(
                    f"run {self.run_id!r} of {self.workflow.id!r} already exists "
                    f"({stored.status}); create a new run, or get_run() this one"
                )
            self.input = self.data = input

        return await self._claimed(enter)

    async def resume(self, step: str | None = None, data: Any = None) -> WorkflowResult:
        """Continue a suspended run: ``step`` (default: the only suspended one) runs again
        with ``ctx.resume_data == data``, checked first against the step's ``resume``
        schema (a ValidationError leaves the run suspended).

        The check is made against the stored run once this process holds its lease, so a
        run that another process has resumed meanwhile is refused, never executed twice.
        A run whose process died during a resume can be resumed again once its lease lapses.
        """

        def enter(stored: WorkflowRun | None) -> None:
            if stored is not None:
                self._adopt(stored)
            key = self._suspended_step(step, orphaned=stored is not None)
            target = self.workflow.find_step(key)
            value = target.resume_data(data) if target is not None else data
            self._resume[key] = value

        return await self._claimed(enter)

    async def recover(self) -> WorkflowResult | None:
        """Continue this run from its last recorded node if the process executing it died
        (stored as ``running`` and its lease lapsed); None when there is nothing to do —
        another process holds it, or it is not running."""

        def enter(stored: WorkflowRun | None) -> None:
            if stored is None or stored.status != "running":
                raise _NotOrphaned
            self._adopt(stored)

        if self.workflow.storage is None:
            raise WorkflowError(f"workflow {self.workflow.id!r} has no storage to recover from")
        try:
            return await self._launch(enter)
        except (_Held, _NotOrphaned):
            return None

    def start_sync(self, input: Any = None) -> WorkflowResult:
        """``start`` for scripts and notebooks (runs its own event loop)."""
        return run_sync(
            lambda: self.start(input), name="start_sync()", instead="`await run.start(...)`"
        )

    def resume_sync(self, step: str | None = None, data: Any = None) -> WorkflowResult:
        """``resume`` for scripts and notebooks (runs its own event loop)."""
        return run_sync(
            lambda: self.resume(step, data), name="resume_sync()", instead="`await run.resume(...)`"
        )

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

    async def watch(self) -> AsyncGenerator[WorkflowEvent, None]:
        """Events of this run from now until it finishes."""
        queue: asyncio.Queue[WorkflowEvent | None] = asyncio.Queue()
        self._watchers.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._watchers.remove(queue)

    # -- transitions ----------------------------------------------------------------------

    def _suspended_step(self, step: str | None, *, orphaned: bool) -> str:
        """The step a resume continues. A stored run still ``running`` under a lease this
        process now holds was left mid-resume by a process that died: it may be resumed."""
        if orphaned and self.status == "running" and not self.suspended:
            raise WorkflowError(
                f"run {self.run_id!r} was left running by a process that died, past its "
                "suspended steps; recover() continues it"
            )
        if self.status != "suspended" and not (orphaned and self.status == "running"):
            raise WorkflowError(f"run {self.run_id!r} is {self.status}, not suspended")
        if step is None:
            if len(self.suspended) != 1:
                raise WorkflowError(
                    f"run {self.run_id!r} has suspended steps "
                    f"{self.suspended}; name the one to resume"
                )
            return self.suspended[0]
        if step not in self.suspended:
            raise WorkflowError(f"step {step!r} is not suspended; suspended: {self.suspended}")
        return step

    async def _claimed(self, enter: Entry) -> WorkflowResult:
        try:
            return await self._launch(enter)
        except _Held:
            raise WorkflowError(
                f"run {self.run_id!r} of {self.workflow.id!r} is executing elsewhere; try "
                f"again when it has stopped (a dead process's claim lapses after "
                f"{self.workflow.lease_seconds:g} s)"
            ) from None

    def _emit(self, type: str, step: str | None = None, payload: Any = None) -> None:
        event = WorkflowEvent(type, self.run_id, step, payload)
        for queue in self._watchers:
            queue.put_nowait(event)

    async def _launch(self, enter: Entry) -> WorkflowResult:
        self._task = asyncio.ensure_future(self._execute(enter))
        try:
            return await asyncio.shield(self._task)
        finally:
            for queue in self._watchers:
                queue.put_nowait(None)

    def _store(self) -> RunStore | None:
        storage = self.workflow.storage
        if storage is None:
            return None
        return RunStore(
            storage,
            self.workflow.id,
            self.run_id,
            durability=self.workflow.durability,
            lease_seconds=self.workflow.lease_seconds,
        )

    def _lose(self) -> None:
        self._lost = True
        self.cancel()

    async def _execute(self, enter: Entry) -> WorkflowResult:
        self._lost = False
        store = self._store()
        if store is None:
            enter(None)
            return await self._run(None)
        if not await store.claim(self._lose):
            raise _Held
        try:
            enter(await store.load())
            return await self._run(store)
        except (asyncio.CancelledError, LeaseLostError) as exc:
            if not self._lost and not isinstance(exc, LeaseLostError):
                raise
            raise WorkflowError(
                f"run {self.run_id!r} of {self.workflow.id!r} lost its lease: another process "
                "took it over (this one could not renew it in time), so this process stopped"
            ) from None
        finally:
            await store.release()

    async def _run(self, store: RunStore | None) -> WorkflowResult:
        self.status, self.error = "running", None
        with self._tracer.span("workflow.run", workflow=self.workflow.id, run_id=self.run_id):
            try:
                if store is not None:
                    await store.save(self.snapshot, final=False)
                for index in range(self.position, len(self.workflow.nodes)):
                    self.position = index
                    self.data = await self.workflow.nodes[index].run(self, self.data, "")
                    self.position = index + 1
                    if store is not None:
                        await store.save(self.snapshot, final=False)
                self.status, self.suspended = "success", []
            except Suspended as exc:
                self.status, self.suspended = "suspended", exc.keys
            except StepFailed as exc:
                self.status, self.error, self.suspended = "failed", str(exc), []
            except asyncio.CancelledError:
                if self._lost:
                    raise
                self.status, self.error, self.suspended = "canceled", "canceled", []
            if store is not None:
                await store.save(self.snapshot, final=True)
        self._emit("run-finish", payload=self.status)
        return WorkflowResult(
            status=self.status,
            result=self.data if self.status == "success" else None,
            steps=dict(self.results),
            error=self.error,
            suspended=list(self.suspended),
        )

    def snapshot(self) -> WorkflowRun:
        """The run's state as storage keeps it."""
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
                "resume": msgspec.to_builtins(self._resume),
                "error": self.error,
            },
        )

    # -- steps (the Executor the nodes call) ----------------------------------------------

    def context(self, key: str, step: Step | None = None, attempt: int = 0) -> StepContext:
        resume = self._resume.get(key)
        return StepContext(
            workflow_id=self.workflow.id,
            run_id=self.run_id,
            step_id=key,
            attempt=attempt,
            resume_data=step.resume_data(resume) if step is not None else resume,
            results=self.results,
            mastra=self.workflow.mastra,
            suspend_schema=step.suspend if step is not None else None,
        )

    async def unit(self, target: Step | Workflow, data: Any, key: str) -> Any:
        if isinstance(target, Step):
            return await self._step(target, data, key)
        for node in target.nodes:  # a nested workflow runs inline, its steps prefixed
            data = await node.run(self, data, key + ".")
        return data

    async def _step(self, step: Step, data: Any, key: str) -> Any:
        done = self.results.get(key)
        if done is not None and done.status == "success":
            return done.output  # finished before a suspend or restart
        started = time.time()
        self._emit("step-start", key)
        error = ""
        with self._tracer.span("workflow.step", step=key) as span:
            for attempt in range(step.retries + 1):
                ctx = self.context(key, step, attempt)
                try:
                    call = step.call(ctx, data)
                    output = await (asyncio.wait_for(call, step.timeout) if step.timeout else call)
                except Suspend as signal:
                    self._resume.pop(key, None)
                    self.results[key] = StepResult(
                        status="suspended",
                        suspend_payload=signal.payload,
                        started_at=started,
                        ended_at=time.time(),
                        attempts=attempt + 1,
                    )
                    self._emit("step-suspend", key, signal.payload)
                    raise Suspended([key]) from None
                except (asyncio.CancelledError, Suspended, StepFailed):
                    raise
                except TimeoutError:
                    error = f"timed out after {step.timeout} s"
                except Exception as exc:  # recorded on the step, then retried or reported
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    self._resume.pop(key, None)
                    if key in self.suspended:
                        self.suspended.remove(key)
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
        raise StepFailed(key, error)
