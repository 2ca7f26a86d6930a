"""``Run``: one execution of a workflow — start, resume, recover, cancel, events — as a state
machine whose every transition is checked against the stored run under its lease."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

from mastra.errors import LeaseLostError, NotFoundError, WorkflowError
from mastra.loops import run_sync
from mastra.storage import WorkflowRun
from mastra.storage.types import TERMINAL_STATUSES
from mastra.telemetry import Tracer
from mastra.workflows.nodes import Map, Parked, StepFailed, Suspended
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
    """How a run stopped: ``success``, ``failed``, ``suspended`` (waiting for ``resume``),
    ``canceled``, or for a queued run set aside until a timer or an event, ``sleeping`` or
    ``waiting``."""

    status: str
    result: Any = None
    steps: dict[str, StepResult] = {}
    error: str | None = None
    suspended: list[str] = []


class _Held(Exception):
    """Another live process holds the run's lease."""


class _NotOrphaned(Exception):
    """The stored run is not one that ``recover`` should continue."""


# How long a run may be held back before `result()` looks at the store again.
_POLL_FIRST, _POLL_MOST = 0.01, 0.5
# Strings shorter than this go into a snapshot as they are, not as a reference to a step.
_REF_MIN_CHARS = 64


def _epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _moment(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


def as_shown(output: Any) -> Any:
    """An output as events and the server carry it: JSON builtins, or its repr when it is not
    JSON."""
    try:
        return msgspec.to_builtins(output)
    except TypeError:
        return repr(output)


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
        # On a queue: where, and when a worker may take it (epoch seconds).
        self.queue: str | None = None
        self.priority = 0
        self.wake_at: float | None = None
        self._cancel_requested = False
        # What the next write must carry: step records changed since the last one, and the
        # input until it is stored. Outputs are referenced by identity, to store them once.
        self._dirty: set[str] = set()
        self._input_stored = False
        self._produced: dict[int, str] = {}
        self._mapped: set[str] = set()  # records of maps (their outputs need not be JSON)
        # Deadlines of event waits, by the wait's key (epoch seconds; None: no timeout).
        self._waits: dict[str, float | None] = {}
        self._store: RunStore | None = None
        self._stamps: dict[str, datetime] = {}  # when the stored run was created, updated

    @classmethod
    def restore(cls, workflow: Workflow, stored: WorkflowRun) -> Run:
        run = cls(workflow, stored.run_id)
        run._adopt(stored)
        return run

    def _adopt(self, stored: WorkflowRun) -> None:
        """Take the stored state as the truth (another process may have moved the run on)."""
        snap = stored.snapshot or {}
        steps = dict(stored.steps)
        self.status = stored.status
        self.position = snap.get("position", 0)
        self.input = steps.pop("$input", snap.get("input"))
        self._input_stored = True
        recorded = {**snap.get("results", {}), **steps}  # inline in snapshots before v4
        records = [(k, msgspec.convert(v, StepResult)) for k, v in recorded.items()]
        # in the order they started, whatever order the storage keeps them in
        self.results = dict(sorted(records, key=lambda record: record[1].started_at))
        self._produced = {id(r.output): k for k, r in self.results.items()}
        self.data = self._resolve(snap["data_ref"]) if "data_ref" in snap else snap.get("data")
        # The step records say which steps still wait for a resume (a resumed step's record
        # is written as it finishes, before the run's row is).
        waiting = {k for k, r in self.results.items() if r.status == "suspended"}
        listed = [k for k in snap.get("suspended", []) if k in waiting]
        self.suspended = listed + sorted(waiting.difference(listed))
        self.error = snap.get("error")
        self._resume = dict(snap.get("resume", {}))
        self._waits = dict(snap.get("waits", {}))
        self.queue, self.priority = stored.queue, stored.priority
        self.wake_at = _epoch(stored.wake_at)
        self._cancel_requested = stored.cancel_requested
        self._stamps = {"created_at": stored.created_at, "updated_at": stored.updated_at}
        self._dirty.clear()

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

    async def result(self, timeout: float | None = None) -> WorkflowResult:
        """Wait until the run stops — finished, or suspended for ``resume`` — wherever it
        executes (this process, a worker, another server), and return how it stopped.
        Raises :class:`TimeoutError` after ``timeout`` seconds. Sleeping and waiting runs
        are not stopped: they continue by themselves."""
        storage, queue = self.workflow._storage(), self.workflow._queue()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        pause = _POLL_FIRST
        while True:
            state = await queue.workflow_run_state(self.workflow.id, self.run_id)
            if state is None:
                raise NotFoundError(f"no run {self.run_id!r} of workflow {self.workflow.id!r}")
            if state[0] in (*TERMINAL_STATUSES, "suspended"):
                stored = await storage.get_workflow_run(self.workflow.id, self.run_id)
                if stored is not None:
                    self._adopt(stored)
                    return self._outcome()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise TimeoutError(
                    f"run {self.run_id!r} of {self.workflow.id!r} is still {state[0]} after "
                    f"{timeout:g} s"
                )
            await asyncio.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 1.5, _POLL_MOST)

    def start_sync(self, input: Any = None) -> WorkflowResult:
        """``start`` for scripts and notebooks (on this thread's kept event loop)."""
        return run_sync(
            lambda: self.start(input), name="start_sync()", instead="`await run.start(...)`"
        )

    def resume_sync(self, step: str | None = None, data: Any = None) -> WorkflowResult:
        """``resume`` for scripts and notebooks (on this thread's kept event loop)."""
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

    async def _claimed(
        self, enter: Entry, owner: str | None = None, claimed: WorkflowRun | None = None
    ) -> WorkflowResult:
        try:
            return await self._launch(enter, owner, claimed)
        except _Held:
            raise WorkflowError(
                f"run {self.run_id!r} of {self.workflow.id!r} is executing elsewhere; try "
                f"again when it has stopped (a dead process's claim lapses after "
                f"{self.workflow.lease_seconds:g} s)"
            ) from None

    def _emit(self, type: str, step: str | None = None, payload: Any = None) -> None:
        if not self._watchers:
            return
        event = WorkflowEvent(type, self.run_id, step, payload)
        for queue in self._watchers:
            queue.put_nowait(event)

    async def _launch(
        self, enter: Entry, owner: str | None = None, claimed: WorkflowRun | None = None
    ) -> WorkflowResult:
        self._task = asyncio.ensure_future(self._execute(enter, owner, claimed))
        try:
            return await asyncio.shield(self._task)
        finally:
            for queue in self._watchers:
                queue.put_nowait(None)

    def _open_store(self, owner: str | None) -> RunStore | None:
        storage = self.workflow.storage
        if storage is None:
            return None
        return RunStore(
            storage,
            self.workflow.id,
            self.run_id,
            durability=self.workflow.durability,
            lease_seconds=self.workflow.lease_seconds,
            owner=owner,
        )

    def _lose(self) -> None:
        self._lost = True
        self.cancel()

    def abandon(self) -> None:
        """Stop executing here without recording an outcome (a worker shutting down): the
        run stays ``running`` and, its lease given up, another worker continues it from its
        last recorded step."""
        self._lose()

    async def settle_cancel(self) -> str | None:
        """Record this run as canceled here when no process executes it (someone asked to
        cancel it); its status then, or None when another process has it or it is done."""

        def enter(stored: WorkflowRun | None) -> None:
            if stored is None or stored.status in TERMINAL_STATUSES:
                raise _NotOrphaned
            self._adopt(stored)

        try:
            return (await self._launch(enter)).status
        except (_Held, _NotOrphaned):
            return None

    async def work(self, owner: str, claimed: WorkflowRun) -> WorkflowResult:
        """Execute a run a worker claimed from its queue (``owner`` holds its lease, and
        ``claimed`` is the run as the claim read it): from the start, after a timer or an
        event, or from its last recorded step when the worker that had it died."""

        def enter(stored: WorkflowRun | None) -> None:
            self._adopt(stored or claimed)

        return await self._claimed(enter, owner, claimed)

    async def _execute(
        self, enter: Entry, owner: str | None = None, claimed: WorkflowRun | None = None
    ) -> WorkflowResult:
        self._lost = False
        store = self._open_store(owner)
        if store is None:
            enter(None)
            return await self._run(None)
        if not await store.claim(self._lose, self.cancel):
            raise _Held
        self._store = store
        try:
            enter(claimed if claimed is not None else await store.load())
            return await self._run(store)
        except (asyncio.CancelledError, LeaseLostError) as exc:
            if not self._lost and not isinstance(exc, LeaseLostError):
                raise
            raise WorkflowError(
                f"run {self.run_id!r} of {self.workflow.id!r} lost its lease: another process "
                "took it over (this one could not renew it in time), so this process stopped"
            ) from None
        finally:
            self._store = None
            await store.release()

    async def _run(self, store: RunStore | None) -> WorkflowResult:
        claimed = self.status == "running"  # by a worker, which recorded it as running
        self.status, self.error = "running", None
        if self.queue is not None:
            self.wake_at = time.time()  # a worker continues it if this process dies
        with self._tracer.span("workflow.run", workflow=self.workflow.id, run_id=self.run_id):
            try:
                if self._cancel_requested:
                    raise asyncio.CancelledError
                if store is not None and not claimed:
                    await store.save(self._record, final=False)
                for index in range(self.position, len(self.workflow.nodes)):
                    self.position = index
                    self.data = await self.workflow.nodes[index].run(self, self.data, "")
                    self.position = index + 1
                self._stop("success")
            except Parked as parked:
                self._stop(parked.status, wake_at=parked.wake_at)
            except Suspended as exc:
                self._stop("suspended", suspended=exc.keys)
            except StepFailed as exc:
                self._stop("failed", error=str(exc))
            except asyncio.CancelledError:
                if self._lost:
                    raise
                self._stop("canceled", error="canceled")
            if store is not None:
                await store.save(self._record, final=True)
        self._emit("run-finish", payload=self.status)
        return self._outcome()

    def _stop(
        self,
        status: str,
        *,
        error: str | None = None,
        suspended: list[str] | None = None,
        wake_at: float | None = None,
    ) -> None:
        self.status, self.error, self.suspended = status, error, suspended or []
        self.wake_at = wake_at

    def _outcome(self) -> WorkflowResult:
        return WorkflowResult(
            status=self.status,
            result=self.data if self.status == "success" else None,
            steps=dict(self.results),
            error=self.error,
            suspended=list(self.suspended),
        )

    async def _checkpoint(self) -> None:
        """Record what changed (a step's record) as the durability mode says."""
        if self._store is not None:
            await self._store.checkpoint(self._changed_steps)

    def _changed_steps(self) -> dict[str, Any]:
        """The step records changed since the last write (and the input until it is
        stored), as they are written."""
        steps = {k: r for k in self._dirty if (r := self._stored(k)) is not None}
        self._dirty.clear()
        if not self._input_stored:
            steps["$input"] = msgspec.to_builtins(self.input)
            self._input_stored = True
        return steps

    def _stored(self, key: str) -> Any:
        """A step record as it is written; None for a map whose output is not JSON: it is
        kept in memory only (a map is a pure function: a restart maps again)."""
        try:
            return msgspec.to_builtins(self.results[key])
        except TypeError:
            if key not in self._mapped:
                raise
            return None

    def _record(self) -> WorkflowRun:
        """The run's row as written now: its state without outputs (the data it carries is
        a reference when it is a step's output), and the step records changed since the
        last write."""
        steps = self._changed_steps()
        snapshot: dict[str, Any] = {
            "position": self.position,
            "suspended": self.suspended,
            "resume": msgspec.to_builtins(self._resume),
            "error": self.error,
            "waits": self._waits,
        }
        reference = self._reference(self.data)
        if reference is not None:
            snapshot["data_ref"] = reference
        else:
            snapshot["data"] = msgspec.to_builtins(self.data)
        return self._row(snapshot, steps)

    def _row(self, snapshot: dict[str, Any], steps: dict[str, Any]) -> WorkflowRun:
        return WorkflowRun(
            workflow_id=self.workflow.id,
            run_id=self.run_id,
            status=self.status,
            snapshot=snapshot,
            steps=steps,
            queue=self.queue,
            priority=self.priority,
            wake_at=_moment(self.wake_at) if self.queue is not None else None,
        )

    def _reference(self, data: Any) -> Any:
        """``data`` as step keys when it is (made of) step outputs, else None."""

        def key(value: Any) -> str | None:
            if not isinstance(value, dict | list | str) or (
                isinstance(value, str) and len(value) < _REF_MIN_CHARS
            ):
                return None
            found = self._produced.get(id(value))
            result = self.results.get(found) if found is not None else None
            return found if result is not None and result.output is value else None

        whole = key(data)
        if whole is not None:
            return {"step": whole}
        if isinstance(data, dict) and data:
            keys = {k: key(v) for k, v in data.items()}
            if all(keys.values()):
                return {"steps": keys}
        return None

    def _resolve(self, reference: dict[str, Any]) -> Any:
        def output(key: str) -> Any:
            return self.results[key].output

        if "step" in reference:
            return output(reference["step"])
        return {k: output(key) for k, key in reference["steps"].items()}

    def snapshot(self) -> WorkflowRun:
        """The run's whole state (input, data, every step record as it is stored) as one
        record, with the stored run's times when it was loaded from storage."""
        row = self._row(
            {
                "position": self.position,
                "data": msgspec.to_builtins(self.data),
                "input": msgspec.to_builtins(self.input),
                "results": {k: r for k in self.results if (r := self._stored(k)) is not None},
                "suspended": self.suspended,
                "resume": msgspec.to_builtins(self._resume),
                "error": self.error,
                "waits": self._waits,
            },
            {},
        )
        return msgspec.structs.replace(row, **self._stamps) if self._stamps else row

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
            events=step.events if step is not None else None,
            waiter=self if self.workflow.storage is not None else None,
        )

    async def unit(self, target: Step | Workflow, data: Any, key: str) -> Any:
        if isinstance(target, Step):
            return await self._step(target, data, key)
        for node in target.nodes:  # a nested workflow runs inline, its steps prefixed
            data = await node.run(self, data, key + ".")
        return data

    async def _settle(self, key: str, result: StepResult) -> None:
        self.results[key] = result
        self._dirty.add(key)
        if result.status == "success":
            self._produced[id(result.output)] = key
        await self._checkpoint()

    async def sleep_until(self, key: str, wake: Callable[[], float]) -> None:
        done = self.results.get(key)
        if done is not None and done.status == "success":
            return
        if done is None or done.status != "waiting":
            until = wake()
            done = StepResult(
                status="waiting", suspend_payload={"until": until}, started_at=time.time()
            )
            await self._settle(key, done)
        until = done.suspend_payload["until"]
        remaining = until - time.time()
        if remaining > 0:
            if self.queue is not None:
                raise Parked("sleeping", until)
            self._emit("step-start", key)
            await asyncio.sleep(remaining)
        await self._settle(
            key,
            StepResult(
                status="success", started_at=done.started_at, ended_at=time.time(), attempts=1
            ),
        )
        self._emit("step-finish", key)

    async def wait_event(self, step_key: str, name: str, index: int, timeout: float | None) -> Any:
        store, queue = self._store, self.workflow._queue()
        if store is None:
            raise WorkflowError(f"run {self.run_id!r} is not executing under its lease")
        taker = f"{step_key}/{name}/{index}"
        if taker not in self._waits:
            self._waits[taker] = None if timeout is None else time.time() + timeout
        deadline = self._waits[taker]
        pause = _POLL_FIRST
        while True:
            event = await queue.take_workflow_event(
                self.workflow.id, self.run_id, name, taker, (store.key, store.owner)
            )
            if event is not None:
                return event.data
            left = None if deadline is None else deadline - time.time()
            if left is not None and left <= 0:
                raise TimeoutError(f"no event {name!r} reached step {step_key!r} in {timeout} s")
            if self.queue is not None:
                raise Parked("waiting", deadline)
            await asyncio.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 1.5, _POLL_MOST)

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
                limit = asyncio.timeout(step.timeout) if step.timeout is not None else None
                try:
                    if limit is None:  # no timeout to keep: spare the timer's bookkeeping
                        output = await step.call(ctx, data)
                    else:
                        async with limit:
                            output = await step.call(ctx, data)
                except Suspend as signal:
                    self._resume.pop(key, None)
                    await self._settle(
                        key,
                        StepResult(
                            status="suspended",
                            suspend_payload=signal.payload,
                            started_at=started,
                            ended_at=time.time(),
                            attempts=attempt + 1,
                        ),
                    )
                    self._emit("step-suspend", key, signal.payload)
                    raise Suspended([key]) from None
                except (asyncio.CancelledError, Suspended, StepFailed, Parked):
                    raise
                except Exception as exc:  # recorded on the step, then retried or reported
                    if isinstance(exc, TimeoutError) and limit is not None and limit.expired():
                        error = f"timed out after {step.timeout} s"
                    else:
                        error = f"{type(exc).__name__}: {exc}"
                else:
                    self._resume.pop(key, None)
                    if key in self.suspended:
                        self.suspended.remove(key)
                    await self._settle(
                        key,
                        StepResult(
                            status="success",
                            output=output,
                            started_at=started,
                            ended_at=time.time(),
                            attempts=attempt + 1,
                        ),
                    )
                    self._finished(key, output)
                    return output
                if attempt < step.retries:
                    await asyncio.sleep(step.backoff * 2**attempt)
            span.set_status("error", error)
        await self._fail(key, error, started, step.retries + 1)

    def _finished(self, key: str, output: Any) -> None:
        if self._watchers:  # the payload is converted only when watched
            self._emit("step-finish", key, as_shown(output))

    async def _fail(self, key: str, error: str, started: float, attempts: int) -> NoReturn:
        """Record ``key`` as failed for good and stop the run there."""
        await self._settle(
            key,
            StepResult(
                status="failed",
                error=error,
                started_at=started,
                ended_at=time.time(),
                attempts=attempts,
            ),
        )
        self._emit("step-error", key, error)
        raise StepFailed(key, error)

    async def mapped(self, node: Map, data: Any, key: str) -> Any:
        done = self.results.get(key)
        if done is not None and done.status == "success":
            return done.output  # recorded before a suspend or restart
        started = time.time()
        self._emit("step-start", key)
        try:
            output = await node.apply(data, lambda: self.context(key))
        except (asyncio.CancelledError, Suspended, StepFailed, Parked):
            raise
        except Exception as exc:  # the map's own failure: the run stops there
            await self._fail(key, f"{type(exc).__name__}: {exc}", started, 1)
        # Written with the next write (the next step's record, or the run's row), not on
        # its own: a crash before that maps again, which a pure function allows.
        self.results[key] = StepResult(
            status="success", output=output, started_at=started, ended_at=time.time(), attempts=1
        )
        self._dirty.add(key)
        self._mapped.add(key)
        self._finished(key, output)
        return output
