"""``Workflow``: the builder that composes steps with then / parallel / branch / loops /
foreach / map / sleep, checks the graph at commit, and creates, reloads and recovers runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.errors import (
    NotFoundError,
    WorkflowError,
    WorkflowGraphError,
    WorkflowValidationError,
)
from mastra.ids import new_id
from mastra.storage import Storage, WorkflowRun
from mastra.storage.types import TERMINAL_STATUSES, RunQueue, check_id
from mastra.workflows.nodes import (
    Branch,
    ForEach,
    Loop,
    Map,
    Node,
    Parallel,
    Predicate,
    Sleep,
    Then,
    step_path,
)
from mastra.workflows.persist import Durability
from mastra.workflows.run import Run, WorkflowResult
from mastra.workflows.step import Step, StepContext, conform
from mastra.workflows.worker import Schedule

if TYPE_CHECKING:
    from mastra.mastra import Mastra
    from mastra.telemetry import Telemetry

__all__ = ["Workflow"]

_PAGE = 1000


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
    raise WorkflowGraphError(f"{item!r} is not a step, workflow, agent or tool")


class Workflow:
    """A durable pipeline of steps.

    >>> wf = Workflow("etl", input=Query).then(fetch).parallel([clean, enrich]).then(save)
    >>> wf.commit()
    >>> result = await wf.create_run().start(Query(...))

    Args:
        storage: where runs are recorded (default: the registry's storage).
        durability: when snapshots are written: "sync" (after every node), "async" (in the
            background, coalesced) or "exit" (when the run stops).
        lease_seconds: how long a process's claim on a running run lasts without renewal;
            it is renewed every third of that while the run executes, and a run whose
            process died can be continued (``recover()``, ``resume``) once it lapses.
        max_iterations: the bound on dowhile/dountil loops.
    """

    def __init__(
        self,
        id: str,
        input: Any = None,
        output: Any = None,
        *,
        storage: Storage | None = None,
        durability: Durability = "sync",
        lease_seconds: float = 30.0,
        max_iterations: int = 1000,
        description: str = "",
    ) -> None:
        if not isinstance(id, str) or not id:
            raise WorkflowGraphError(f"a workflow needs a non-empty string id, got {id!r}")
        if durability not in ("sync", "async", "exit"):
            raise WorkflowGraphError(
                f"durability must be 'sync', 'async' or 'exit', got {durability!r}"
            )
        if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float):
            raise WorkflowGraphError(f"lease_seconds must be a number, got {lease_seconds!r}")
        if not 0.1 <= lease_seconds <= 3600:
            raise WorkflowGraphError(
                f"lease_seconds must be from 0.1 to 3600, got {lease_seconds!r}"
            )
        self.id, self.input, self.output = id, input, output
        self.storage = storage
        self.durability: Durability = durability
        self.lease_seconds = float(lease_seconds)
        self.max_iterations = max_iterations
        self.description = description
        self.nodes: list[Node] = []
        self.committed = False
        self.mastra: Mastra | None = None
        self.telemetry: Telemetry | None = None
        self.schedules: list[Schedule] = []

    def bind(self, mastra: Mastra) -> None:
        """Called by :class:`mastra.Mastra`: use its storage and telemetry."""
        self.mastra = mastra
        if self.storage is None:
            self.storage = mastra.storage
        self.telemetry = mastra.telemetry

    # -- building -------------------------------------------------------------------------

    def _add(self, node: Node) -> Workflow:
        if self.committed:
            raise WorkflowGraphError(
                f"workflow {self.id!r} is committed; build a new one to change it"
            )
        self.nodes.append(node)
        return self

    def then(self, item: Any) -> Workflow:
        """Run a step (or an agent, a tool, a nested workflow) on the current data."""
        return self._add(Then(_as_step(item)))

    def parallel(self, items: Sequence[Any]) -> Workflow:
        """Run them concurrently on the same data; the next node gets their outputs by id."""
        return self._add(Parallel([_as_step(i) for i in items]))

    def branch(self, branches: Sequence[tuple[Predicate, Any]]) -> Workflow:
        """Run every step whose predicate holds on the data, concurrently."""
        return self._add(Branch([(p, _as_step(i)) for p, i in branches]))

    def dowhile(self, item: Any, predicate: Predicate) -> Workflow:
        """Run, then again on its output while ``predicate(output)`` holds."""
        return self._add(Loop(_as_step(item), predicate, until=False))

    def dountil(self, item: Any, predicate: Predicate) -> Workflow:
        """Run, then again on its output until ``predicate(output)`` holds."""
        return self._add(Loop(_as_step(item), predicate, until=True))

    def foreach(self, item: Any, concurrency: int = 1) -> Workflow:
        """Run the step on each item of the (list) data, at most ``concurrency`` at once."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise WorkflowGraphError(
                f"foreach concurrency must be an integer >= 1, got {concurrency!r}"
            )
        return self._add(ForEach(_as_step(item), concurrency))

    def map(self, fn: Callable[..., Any]) -> Workflow:
        """Reshape the data: ``fn(data)`` or ``fn(data, ctx)``, sync or async. Runs record
        and report it like a step, as ``mapping_<position>``."""
        return self._add(Map(fn, f"mapping_{len(self.nodes)}"))

    def sleep(self, seconds: float) -> Workflow:
        """Wait ``seconds`` before the next node: a durable timer (a restart keeps its
        deadline; a queued run holds no worker meanwhile)."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise WorkflowGraphError(f"sleep takes seconds >= 0, got {seconds!r}")
        return self._add(Sleep(f"sleep{len(self.nodes)}", seconds=float(seconds)))

    def sleep_until(self, when: datetime | Callable[[Any], datetime]) -> Workflow:
        """Wait until ``when`` (an aware datetime, or a function of the data returning one)
        before the next node; durable like :meth:`sleep`."""
        if isinstance(when, datetime) and when.tzinfo is None:
            raise WorkflowGraphError(
                f"sleep_until needs an aware datetime (with a tzinfo), got {when!r}"
            )
        if not isinstance(when, datetime) and not callable(when):
            raise WorkflowGraphError(f"sleep_until takes a datetime or a function, got {when!r}")
        return self._add(Sleep(f"sleep{len(self.nodes)}", until=when))

    def commit(self) -> Workflow:
        """Check the graph: at least one node, unique step ids, and adjacent declared types
        that fit (the output of one node is the declared input of the next)."""
        if not self.nodes:
            raise WorkflowGraphError(f"workflow {self.id!r} has no steps")
        seen: set[str] = set()
        for node in self.nodes:
            for step_id in node.ids():
                if step_id in seen:
                    raise WorkflowGraphError(
                        f"workflow {self.id!r} uses the step id {step_id!r} "
                        "twice; step ids must be unique"
                    )
                seen.add(step_id)
        previous = self.input
        for node in self.nodes:
            wanted = node.input
            if previous is not None and wanted is not None and not _fits(previous, wanted):
                raise WorkflowGraphError(
                    f"workflow {self.id!r}: {node.kind} {node.ids()} takes "
                    f"{_name(wanted)} but receives {_name(previous)}"
                )
            previous = node.passes_type(previous)
        if self.output is not None and previous is not None and not _fits(previous, self.output):
            raise WorkflowGraphError(
                f"workflow {self.id!r} returns {_name(previous)} but declares "
                f"output {_name(self.output)}"
            )
        self.committed = True
        return self

    def find_step(self, key: str) -> Step | None:
        """The step a run records under ``key`` (``a``, ``a#2``, ``a[3]``, ``inner.b``)."""
        for node in self.nodes:
            for target in node.targets():
                rest = step_path(key, target.id)
                if rest is None:
                    continue
                if isinstance(target, Step):
                    if rest == "":
                        return target
                elif rest:
                    found = target.find_step(rest[1:])
                    if found is not None:
                        return found
        return None

    # -- runs -----------------------------------------------------------------------------

    def create_run(self, run_id: str | None = None) -> Run:
        if not self.committed:
            self.commit()
        return Run(self, run_id or new_id())

    async def get_run(self, run_id: str) -> Run:
        """Reload a run from storage (after a restart, or in another process)."""
        stored = await self._storage().get_workflow_run(self.id, run_id)
        if stored is None:
            raise NotFoundError(f"no run {run_id!r} of workflow {self.id!r}")
        return Run.restore(self, stored)

    async def list_runs(self, status: str | None = None, limit: int = 50) -> list[WorkflowRun]:
        if self.storage is None:
            return []
        return list(await self.storage.list_workflow_runs(self.id, status=status, limit=limit))

    async def recover(self) -> list[WorkflowResult]:
        """Continue this workflow's stored runs whose process died mid-run (status
        ``running``, lease lapsed), each from its last recorded node; runs another live
        process holds are left alone. Returns the results of the runs it continued."""
        storage = self._storage()
        if not self.committed:
            self.commit()
        running: list[WorkflowRun] = []
        while True:
            page = await storage.list_workflow_runs(
                self.id, status="running", limit=_PAGE, offset=len(running)
            )
            running.extend(page)
            if len(page) < _PAGE:
                break
        outcomes = await asyncio.gather(*(Run.restore(self, r).recover() for r in running))
        return [o for o in outcomes if o is not None]

    # -- queues, events, schedules ---------------------------------------------------------

    async def enqueue(
        self,
        input: Any = None,
        *,
        queue: str = "default",
        priority: int = 0,
        idempotency_key: str | None = None,
        run_id: str | None = None,
        delay: float = 0.0,
    ) -> Run:
        """Put a run on ``queue`` for a worker (``mastra worker``) to execute, ``delay``
        seconds from now; higher ``priority`` runs are taken first. With an
        ``idempotency_key`` this workflow already used, no run is added: the existing one is
        returned. ``await run.result(timeout)`` waits for it from any process."""
        if not self.committed:
            self.commit()
        check_id("queue", queue)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise WorkflowError(f"priority must be an integer, got {priority!r}")
        if self.input is not None:
            input = conform(input, self.input, f"workflow {self.id!r} input")
        run = Run(self, run_id or new_id())
        run.input = run.data = input
        run.status, run.queue, run.priority = "queued", queue, priority
        row = msgspec.structs.replace(run._record(), idempotency_key=idempotency_key)
        stored = await self._queue().enqueue_workflow_run(row, delay=max(0.0, delay))
        return Run.restore(self, stored)

    async def send_event(self, run_id: str, name: str, data: Any = None) -> None:
        """Send event ``name`` to a run: the step waiting for it (``ctx.wait_for_event``)
        gets ``data``; sent before the wait starts, it is kept for it. Data that does not
        fit the type a step declares for the event (``@step(events=...)``) is refused and
        nothing is stored."""
        schema = next(
            (s.events[name] for s in self.steps() if s.events and s.events.get(name)), None
        )
        if schema is not None:
            data = conform(data, schema, f"event {name!r} for workflow {self.id!r}")
        try:
            payload = msgspec.to_builtins(data)
        except TypeError as exc:
            raise WorkflowValidationError(f"event {name!r} data is not JSON: {exc}") from None
        stored = await self._queue().send_workflow_event(self.id, run_id, name, payload)
        if stored is None:
            raise NotFoundError(f"no run {run_id!r} of workflow {self.id!r}")
        if stored.status in TERMINAL_STATUSES:
            raise WorkflowError(
                f"run {run_id!r} of {self.id!r} is {stored.status}; no step can take the event"
            )

    async def cancel_run(self, run_id: str) -> str:
        """Cancel a run from any process: a run waiting (queued, sleeping, suspended) is
        canceled now; a running one stops at its executor's next heartbeat (a third of the
        lease). Returns the run's status now."""
        queue = self._queue()
        stored = await queue.request_workflow_cancel(self.id, run_id)
        if stored is None:
            raise NotFoundError(f"no run {run_id!r} of workflow {self.id!r}")
        if stored.status in TERMINAL_STATUSES:
            return stored.status
        outcome = await Run(self, run_id).settle_cancel()
        return outcome or stored.status

    async def delete_runs(
        self,
        older_than: timedelta | datetime,
        statuses: Sequence[str] = TERMINAL_STATUSES,
    ) -> int:
        """Delete this workflow's runs in ``statuses`` (finished ones by default) last
        updated before ``older_than`` (an age, or a moment), with their steps and events;
        how many were deleted."""
        before = datetime.now(UTC) - older_than if isinstance(older_than, timedelta) else older_than
        return await self._queue().delete_workflow_runs(
            self.id, before=before, statuses=tuple(statuses)
        )

    def schedule(
        self,
        cron: str,
        input: Any = None,
        *,
        id: str | None = None,
        queue: str = "default",
        priority: int = 0,
        timezone: str = "UTC",
        grace: float = 60.0,
    ) -> Schedule:
        """Start this workflow with ``input`` at every tick of ``cron`` (5 fields or a macro
        such as ``@hourly``, in ``timezone``); workers serving ``queue`` fire each tick once
        between them."""
        made = Schedule(
            self,
            cron,
            input,
            id=id,
            queue=queue,
            priority=priority,
            timezone=timezone,
            grace=grace,
        )
        if any(s.id == made.id for s in self.schedules):
            raise WorkflowGraphError(
                f"workflow {self.id!r} already has a schedule {made.id!r}; pass id= to tell "
                "them apart"
            )
        self.schedules.append(made)
        return made

    def steps(self) -> list[Step]:
        """Every step, nested workflows' included."""
        found: list[Step] = []
        for node in self.nodes:
            for target in node.targets():
                found.extend([target] if isinstance(target, Step) else target.steps())
        return found

    def _queue(self) -> RunQueue:
        storage = self._storage()
        if not isinstance(storage, RunQueue):
            raise WorkflowError(
                f"workflow {self.id!r}: queues and events need SQLiteStorage or PostgresStorage; "
                f"{type(storage).__name__} has none"
            )
        return storage

    def _storage(self) -> Storage:
        if self.storage is None:
            raise WorkflowError(
                f"workflow {self.id!r} has no storage to load runs from; pass storage= or "
                "register it in a Mastra with storage"
            )
        return self.storage

    def __repr__(self) -> str:
        return f"Workflow({self.id!r}, {len(self.nodes)} nodes)"


def _name(kind: Any) -> str:
    return getattr(kind, "__name__", repr(kind))


def _fits(given: Any, wanted: Any) -> bool:
    if given is wanted or wanted is Any or given is Any:
        return True
    return isinstance(given, type) and isinstance(wanted, type) and issubclass(given, wanted)
