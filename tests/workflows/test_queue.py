"""Queued runs on SQLite and PostgreSQL: workers, results from anywhere, idempotency,
priorities, durable timers and events, cancel from another process, queue limits,
retention, schedules, and step records written as deltas."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mastra.errors import NotFoundError, WorkflowError, WorkflowValidationError
from mastra.storage import InMemoryStorage, PostgresStorage, SQLiteStorage, WorkflowRun
from mastra.workflows import Queue, StepContext, Worker, Workflow, step


class Approval(msgspec.Struct):
    ok: bool
    by: str


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request, tmp_path):
    """Two storage objects on one database: as two processes would see it."""
    if request.param == "sqlite":
        made = [SQLiteStorage(tmp_path / "q.db") for _ in range(2)]
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        made = [PostgresStorage(dsn) for _ in range(2)]
    yield made
    for store in made:
        await store.close()


@step
def add_one(ctx: StepContext, n: int) -> int:
    return n + 1


@step
def double(ctx: StepContext, n: int) -> int:
    return n * 2


def pipeline(storage, **options):
    return Workflow("pipeline", input=int, storage=storage, **options).then(add_one).then(double)


class Serving:
    """A worker running in the background of a test."""

    def __init__(self, worker):
        self.worker = worker
        self.task = None

    async def __aenter__(self):
        self.task = asyncio.ensure_future(self.worker.run())
        return self.worker

    async def __aexit__(self, *exc):
        await self.worker.aclose()
        await self.task


async def until(condition, timeout=10.0):
    """Wait for ``condition()`` (a worker's bookkeeping trails the store by a moment)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


def serve(workflows, **options):
    options.setdefault("poll_interval", 0.05)
    return Serving(Worker(workflows, **options))


async def test_a_worker_executes_queued_runs_and_any_process_gets_the_result(stores):
    here, there = stores
    runs = [await pipeline(here).enqueue(n) for n in range(20)]
    assert {r.status for r in runs} == {"queued"}
    elsewhere = pipeline(there)  # another process: its own storage object
    async with serve([elsewhere], concurrency=4) as worker:
        results = [await r.result(timeout=30) for r in runs]
    assert [r.result for r in results] == [(n + 1) * 2 for n in range(20)]
    assert worker.executed == 20
    stored = await here.get_workflow_run("pipeline", runs[3].run_id)
    assert stored.status == "success" and stored.steps["double"]["output"] == 8
    assert stored.wake_at is None  # finished: no worker will take it again


async def test_an_idempotency_key_enqueues_once(stores):
    here, there = stores
    first = await pipeline(here).enqueue(1, idempotency_key="order-17")
    again = await pipeline(there).enqueue(5, idempotency_key="order-17")
    other = await pipeline(here).enqueue(1, idempotency_key="order-18")
    assert again.run_id == first.run_id and again.input == 1  # the first one's input kept
    assert other.run_id != first.run_id
    with pytest.raises(WorkflowError, match="already exists"):
        await pipeline(here).enqueue(2, run_id=first.run_id)
    with pytest.raises(WorkflowValidationError, match="input"):
        await pipeline(here).enqueue("not a number")


async def test_enqueue_returns_the_run_as_stored(stores):
    here, there = stores
    run = WorkflowRun(
        workflow_id="direct",
        run_id="d1",
        status="queued",
        queue="default",
        priority=3,
        idempotency_key="k1",
        steps={"$input": {"output": {"n": (1, 2)}}},
    )
    stored = await here.enqueue_workflow_run(run, delay=60)
    assert stored == await there.get_workflow_run("direct", "d1")
    assert stored.steps == {"$input": {"output": {"n": [1, 2]}}}  # as JSON keeps it
    assert stored.wake_at > stored.created_at  # the delay, on the database's clock
    again = msgspec.structs.replace(run, run_id="d2", steps={})
    assert await there.enqueue_workflow_run(again) == stored  # the key's run, with its steps


async def test_higher_priority_runs_are_taken_first(stores):
    here, _ = stores
    order = []

    @step
    def record(ctx: StepContext, n: int) -> int:
        order.append(n)
        return n

    wf = Workflow("prio", input=int, storage=here).then(record)
    for n, priority in [(1, 0), (2, 5), (3, 0), (4, 9)]:
        await wf.enqueue(n, priority=priority)
    async with serve([wf], concurrency=1):
        while len(order) < 4:
            await asyncio.sleep(0.02)
    assert order[:2] == [4, 2] and sorted(order[2:]) == [1, 3]


async def test_stores_without_a_queue_say_so():
    wf = pipeline(InMemoryStorage())
    with pytest.raises(WorkflowError, match="SQLiteStorage or PostgresStorage"):
        await wf.enqueue(1)
    with pytest.raises(Exception, match="no queue"):
        Worker([wf])


async def test_a_step_writes_only_its_own_record(stores):
    """Snapshots as deltas: the run's row does not carry outputs, so a write after a big
    step does not re-send the earlier big outputs."""
    here, _ = stores

    @step
    def big(ctx: StepContext, n: int) -> dict:
        return {"blob": "x" * 200_000, "n": n}

    @step
    def small(ctx: StepContext, data: dict) -> int:
        return data["n"]

    @step
    def last(ctx: StepContext, n: int) -> dict:
        return {"again": "y" * 1000, "n": n}

    wf = Workflow("delta", storage=here).then(big).then(small).then(last)
    run = wf.create_run()
    result = await run.start(7)
    assert result.status == "success" and result.result["n"] == 7
    stored = await here.get_workflow_run("delta", run.run_id)
    row = msgspec.json.encode(stored.snapshot)
    assert len(row) < 500, row  # the data is a reference to the step that made it
    assert stored.snapshot["data_ref"] == {"step": "last"}
    assert len(stored.steps["big"]["output"]["blob"]) == 200_000  # stored once, as its record
    reloaded = await wf.get_run(run.run_id)
    assert reloaded.data == {"again": "y" * 1000, "n": 7}
    assert reloaded.snapshot().snapshot["results"]["small"]["output"] == 7


# -- durable timers ------------------------------------------------------------------------


async def test_a_queued_sleep_holds_no_worker_and_survives_a_restart(stores):
    here, there = stores

    def timed(storage):
        return Workflow("nap", input=int, storage=storage).then(add_one).sleep(1.0).then(double)

    run = await timed(here).enqueue(4)
    async with serve([timed(there)]) as worker:
        while (await here.workflow_run_state("nap", run.run_id))[0] != "sleeping":
            await asyncio.sleep(0.02)
        await until(lambda: worker.running == 0)  # set aside: the worker is free meanwhile
        assert (await here.workflow_run_state("nap", run.run_id))[0] == "sleeping"
    stored = await here.get_workflow_run("nap", run.run_id)
    assert stored.steps["add_one"]["status"] == "success"
    assert stored.wake_at is not None and stored.wake_at > datetime.now(UTC)
    started = time.monotonic()
    async with serve([timed(here)]):  # every worker was stopped: a new one takes it on
        result = await run.result(timeout=30)
    assert result.status == "success" and result.result == 10
    assert time.monotonic() - started < 5


async def test_sleep_until_a_moment_from_the_data(stores):
    here, _ = stores
    soon = datetime.now(UTC) + timedelta(seconds=0.4)
    wf = (
        Workflow("until", storage=here)
        .then(add_one)
        .sleep_until(lambda n: soon)
        .then(double)
        .commit()
    )
    begun = time.monotonic()
    result = await wf.create_run().start(1)  # not queued: it sleeps in this process
    assert result.result == 4 and time.monotonic() - begun >= 0.35


# -- events --------------------------------------------------------------------------------


def approvals(storage):
    @step(events={"approval": Approval})
    async def wait(ctx: StepContext, order: str) -> dict:
        decision = await ctx.wait_for_event("approval", timeout=30)
        return {"order": order, "ok": decision.ok, "by": decision.by}

    return Workflow("approve", input=str, storage=storage).then(wait).commit()


async def test_an_event_sent_before_or_after_the_wait_reaches_the_step(stores):
    here, there = stores
    early = await approvals(here).enqueue("tea")
    await approvals(there).send_event(early.run_id, "approval", {"ok": True, "by": "ana"})
    late = await approvals(here).enqueue("cake")
    async with serve([approvals(there)]) as worker:
        while (await here.workflow_run_state("approve", late.run_id))[0] != "waiting":
            await asyncio.sleep(0.02)
        await until(lambda: worker.running == 0)  # waiting holds no worker either
        assert (await here.workflow_run_state("approve", late.run_id))[0] == "waiting"
        with pytest.raises(WorkflowValidationError, match="ok"):
            await approvals(here).send_event(late.run_id, "approval", {"ok": "maybe"})
        assert (await here.workflow_run_state("approve", late.run_id))[0] == "waiting"
        await approvals(here).send_event(late.run_id, "approval", {"ok": False, "by": "bo"})
        assert (await early.result(30)).result == {"order": "tea", "ok": True, "by": "ana"}
        assert (await late.result(30)).result == {"order": "cake", "ok": False, "by": "bo"}
    with pytest.raises(WorkflowError, match="is success"):
        await approvals(here).send_event(late.run_id, "approval", {"ok": True, "by": "x"})
    with pytest.raises(NotFoundError):
        await approvals(here).send_event("nope", "approval", {"ok": True, "by": "x"})


async def test_a_wait_times_out_into_the_step(stores):
    here, _ = stores

    @step
    async def wait(ctx: StepContext, _: int) -> str:
        try:
            await ctx.wait_for_event("ping", timeout=0.3)
        except TimeoutError:
            return "no ping"
        return "ping"

    queued = Workflow("timeout", storage=here).then(wait).commit()
    run = await queued.enqueue(0)
    async with serve([queued]):
        assert (await run.result(30)).result == "no ping"
    local = Workflow("timeout-local", storage=here).then(wait).commit()
    assert (await local.create_run().start(0)).result == "no ping"


async def test_each_loop_iteration_takes_its_own_event(stores):
    here, _ = stores

    @step
    async def collect(ctx: StepContext, seen: list) -> list:
        return [*seen, await ctx.wait_for_event("item", timeout=10)]

    wf = Workflow("items", storage=here).dountil(collect, lambda seen: len(seen) == 3).commit()
    run = wf.create_run()
    with pytest.raises(NotFoundError):  # no run yet: nothing is stored
        await wf.send_event(run.run_id, "item", 0)
    task = asyncio.ensure_future(run.start([]))
    while await here.workflow_run_state("items", run.run_id) is None:
        await asyncio.sleep(0.01)
    for n in (1, 2, 3, 4):
        await wf.send_event(run.run_id, "item", n)
    assert (await task).result == [1, 2, 3]  # in order, one each; the 4th stays unread


# -- cancel, limits, retention, schedules --------------------------------------------------


async def test_cancel_from_another_process(stores):
    here, there = stores
    started = asyncio.Event()

    @step
    async def forever(ctx: StepContext, _: int) -> int:
        started.set()
        await asyncio.sleep(3600)
        return 0

    def endless(storage):
        return Workflow("endless", storage=storage, lease_seconds=0.6).then(forever).commit()

    waiting = await pipeline(here).enqueue(1)
    assert await pipeline(there).cancel_run(waiting.run_id) == "canceled"
    running = await endless(here).enqueue(0)
    async with serve([endless(here)]):
        await asyncio.wait_for(started.wait(), 30)
        assert await endless(there).cancel_run(running.run_id) == "running"
        result = await running.result(timeout=30)  # its executor stops within a heartbeat
    assert result.status == "canceled"
    async with serve([pipeline(here)]) as worker:
        await asyncio.sleep(0.3)
    assert worker.executed == 0  # the canceled queued run is never executed
    assert (await here.get_workflow_run("pipeline", waiting.run_id)).status == "canceled"


async def test_queue_limits_hold_across_workers(stores):
    here, there = stores
    now_running, most, starts = 0, 0, []

    @step
    async def busy(ctx: StepContext, n: int) -> int:
        nonlocal now_running, most
        now_running += 1
        starts.append(time.monotonic())
        most = max(most, now_running)
        await asyncio.sleep(0.1)
        now_running -= 1
        return n

    def limited(storage):
        return Workflow("limited", storage=storage).then(busy).commit()

    runs = [await limited(here).enqueue(n, queue="slow") for n in range(12)]
    slow = Queue("slow", concurrency=2)
    async with serve([limited(here)], queues=[slow]), serve([limited(there)], queues=[slow]):
        for run in runs:
            assert (await run.result(30)).status == "success"
    assert most == 2

    starts.clear()
    runs = [await limited(here).enqueue(n, queue="paced") for n in range(6)]
    async with serve([limited(here)], queues=[Queue("paced", rate=2, per=0.5)]):
        for run in runs:
            await run.result(30)
    assert starts[-1] - starts[0] >= 0.9  # 6 starts at 2 per 0.5 s span >= 1 s


async def test_finished_runs_are_deleted_by_age(stores):
    here, _ = stores
    wf = pipeline(here).commit()
    done = await wf.create_run().start(1)
    suspended_like = await wf.enqueue(2)  # still queued: never deleted by age
    assert done.status == "success"
    assert await wf.delete_runs(timedelta(hours=1)) == 0
    assert await wf.delete_runs(timedelta(seconds=0)) == 1
    assert [r.run_id for r in await wf.list_runs()] == [suspended_like.run_id]


async def test_a_schedule_fires_once_per_tick_across_three_workers(stores):
    here, there = stores
    real_start = time.monotonic()
    base = datetime(2030, 1, 1, tzinfo=UTC)

    def clock():  # a minute passes every real 0.25 s
        return base + timedelta(minutes=(time.monotonic() - real_start) * 4)

    def ticking(storage):
        wf = pipeline(storage)
        wf.schedule("* * * * *", 3, id="every-minute", grace=300)
        return wf.commit()

    workers = [ticking(s) for s in (here, there, here)]
    async with (
        serve([workers[0]], clock=clock),
        serve([workers[1]], clock=clock),
        serve([workers[2]], clock=clock),
    ):
        await asyncio.sleep(1.6)
    ticks = await ticking(here).list_runs(limit=100)
    keys = sorted(r.idempotency_key for r in ticks)
    assert len(keys) == len(set(keys)) >= 5  # each tick once, not once per worker
    assert all(k.startswith("schedule:every-minute:") for k in keys)


async def test_a_claim_in_progress_does_not_block_a_step_write(postgres_dsn):
    """A claimer's row lock on a run must not conflict with the foreign-key check of a step
    write to that run: under load the two deadlocked (the claim waited on the lease row a
    write held, the write on the run row the claim had locked) and PostgreSQL aborted one."""
    import psycopg

    from mastra.storage import sql

    storage = PostgresStorage(postgres_dsn)
    await pipeline(storage).commit().enqueue(1, run_id="locked")
    due = storage._q(sql.due_runs(1, skip_locked=True))
    record = {"status": "success", "output": 2}
    claimer = await psycopg.AsyncConnection.connect(postgres_dsn)
    async with claimer, claimer.transaction():  # the claim's first statement, its locks held
        rows = await (await claimer.execute(due, ("default", "pipeline", 10))).fetchall()
        assert rows == [("pipeline", "locked")]
        await asyncio.wait_for(
            storage.save_workflow_steps("pipeline", "locked", {"add_one": record}), 5
        )
    stored = await storage.get_workflow_run("pipeline", "locked")
    assert stored.steps["add_one"] == record
    await storage.close()


@pytest.mark.parametrize("failures", [3, 4])
async def test_a_write_aborted_by_a_deadlock_is_tried_again(failures):
    """PostgreSQL aborts one side of a deadlock; nothing of it was committed, so the storage
    runs the transaction again (three times at most) instead of failing the run."""
    from psycopg import errors

    from mastra.storage.postgres import _retry_conflicts

    calls = []

    async def attempt():
        calls.append(1)
        if len(calls) <= failures:
            raise errors.DeadlockDetected("deadlock detected")
        return "written"

    if failures == 3:
        assert await _retry_conflicts(attempt) == "written" and len(calls) == 4
    else:
        with pytest.raises(errors.DeadlockDetected):
            await _retry_conflicts(attempt)
        assert len(calls) == 4
