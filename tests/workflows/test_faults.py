"""Workflow runs under faults: stale processes, bad resume data, processes killed mid-step,
processes that stall past their lease. A run or a step result is never lost or done twice."""

import asyncio
import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import msgspec
import pytest

from mastra import Mastra
from mastra.errors import ValidationError, WorkflowError
from mastra.storage import InMemoryStorage, PostgresStorage, SQLiteStorage
from mastra.workflows import StepContext, Workflow, step


class Approval(msgspec.Struct):
    yes: bool
    by: str = "someone"


class Question(msgspec.Struct):
    question: str


def make_storage(kind, where):
    return SQLiteStorage(where) if kind == "sqlite" else PostgresStorage(where)


@pytest.fixture(params=["sqlite", "postgres"])
def where(request, tmp_path):
    """(kind, location) of a storage several 'processes' (storage objects) share."""
    if request.param == "sqlite":
        return "sqlite", str(tmp_path / "runs.db")
    return "postgres", request.getfixturevalue("postgres_dsn")


def ledger(workdir: Path, name: str) -> list[str]:
    path = workdir / f"{name}.log"
    return path.read_text().split() if path.exists() else []


def note(workdir: Path, name: str, value: str) -> None:
    with open(workdir / f"{name}.log", "a") as out:
        out.write(value + "\n")


async def hold(workdir: Path, name: str) -> None:
    """Wait while the file ``hang-<name>`` exists (the test kills the process meanwhile)."""
    while (workdir / f"hang-{name}").exists():
        await asyncio.sleep(0.02)


def build(storage, workdir, lease_seconds=1.0):
    """prepare -> approve (suspends, typed resume) -> slow -> finish; every step notes each
    execution in its ledger file, and approve (once resumed) and slow wait while their
    hang file exists."""
    workdir = Path(workdir)

    @step
    def prepare(ctx: StepContext, data: str) -> str:
        note(workdir, "prepare", data)
        return data.upper()

    @step(resume=Approval, suspend=Question)
    async def approve(ctx: StepContext, data: str) -> dict:
        note(workdir, "approve", str(ctx.resume_data is not None))
        if ctx.resume_data is None:
            await ctx.suspend({"question": f"ship {data}?"})
        await hold(workdir, "approve")
        assert isinstance(ctx.resume_data, Approval)
        return {"order": data, "yes": ctx.resume_data.yes, "by": ctx.resume_data.by}

    @step
    async def slow(ctx: StepContext, data: dict) -> dict:
        note(workdir, "slow", str(os.getpid()))
        await hold(workdir, "slow")
        return data

    @step
    def finish(ctx: StepContext, data: dict) -> str:
        note(workdir, "finish", str(os.getpid()))
        return f"{data['order']}:{data['yes']}:{data['by']}"

    return (
        Workflow("ship", storage=storage, lease_seconds=lease_seconds)
        .then(prepare)
        .then(approve)
        .then(slow)
        .then(finish)
        .commit()
    )


# -- 1. a stale process cannot execute a resume that already happened ----------------------


async def test_a_stale_copy_cannot_resume_a_finished_run(where, tmp_path):
    kind, location = where
    first, second = make_storage(kind, location), make_storage(kind, location)
    run = build(first, tmp_path).create_run()
    assert (await run.start("tea")).status == "suspended"
    stale = await build(second, tmp_path).get_run(run.run_id)  # process B loads it
    fresh = await build(first, tmp_path).get_run(run.run_id)  # process A resumes it
    done = await fresh.resume("approve", {"yes": True, "by": "ana"})
    assert done.status == "success" and done.result == "TEA:True:ana"
    with pytest.raises(WorkflowError, match="is success, not suspended"):
        await stale.resume("approve", {"yes": False, "by": "bob"})
    assert ledger(tmp_path, "approve") == ["False", "True"]  # the step ran once per resume
    assert ledger(tmp_path, "finish") == [str(os.getpid())]
    stored = await second.get_workflow_run("ship", run.run_id)
    assert stored.status == "success" and stored.snapshot["data"] == "TEA:True:ana"
    await first.close()
    await second.close()


async def test_a_stale_copy_sees_the_current_suspension(tmp_path):
    """B loaded the run before A's resume suspended it again elsewhere: B resumes the step
    the stored run is suspended at, with the stored results, not its own stale ones."""
    storage = SQLiteStorage(tmp_path / "twice.db")
    asked = []

    @step
    async def twice(ctx: StepContext, data: int) -> int:
        asked.append(ctx.resume_data)
        if ctx.resume_data is None or ctx.resume_data < 2:
            await ctx.suspend({"round": ctx.resume_data})
        return data + ctx.resume_data

    wf = Workflow("twice", storage=storage).then(twice).commit()
    run = wf.create_run()
    await run.start(40)
    stale = await wf.get_run(run.run_id)
    assert (await (await wf.get_run(run.run_id)).resume(data=1)).status == "suspended"
    assert stale.results["twice"].suspend_payload == {"round": None}
    result = await stale.resume(data=2)
    assert result.status == "success" and result.result == 42 and asked == [None, 1, 2]
    await storage.close()


# -- 2. resume data is checked before anything changes -------------------------------------


async def test_bad_resume_data_leaves_the_run_suspended(where, tmp_path):
    kind, location = where
    storage = make_storage(kind, location)
    wf = build(storage, tmp_path)
    run = wf.create_run()
    suspended = await run.start("tea")
    assert suspended.steps["approve"].suspend_payload == Question("ship TEA?")
    before = await storage.get_workflow_run("ship", run.run_id)
    with pytest.raises(
        ValidationError, match=r"resume data for step 'approve' is not Approval.*`\$\.yes`"
    ):
        await run.resume("approve", {"yes": "maybe"})
    with pytest.raises(ValidationError, match="missing required field `yes`"):
        await (await wf.get_run(run.run_id)).resume("approve", {"by": "ana"})
    after = await storage.get_workflow_run("ship", run.run_id)
    assert after.status == "suspended" and after.snapshot == before.snapshot
    assert ledger(tmp_path, "approve") == ["False"]  # the step body never saw the bad data
    result = await (await wf.get_run(run.run_id)).resume("approve", {"yes": True})
    assert result.status == "success" and result.result == "TEA:True:someone"
    await storage.close()


async def test_a_suspend_payload_that_breaks_its_schema_fails_the_step():
    @step(suspend=Question)
    async def ask(ctx: StepContext, data: str) -> str:
        await ctx.suspend({"wrong": data})
        return data

    result = await Workflow("ask").then(ask).commit().create_run().start("x")
    assert result.status == "failed"
    assert "step 'ask' suspend payload is not Question" in result.steps["ask"].error


async def test_resume_schema_reaches_nested_loop_and_foreach_steps():
    @step(resume=Approval)
    async def gate(ctx: StepContext, n: int) -> int:
        if ctx.resume_data is None:
            await ctx.suspend()
        return n + (1 if ctx.resume_data.yes else 0)

    inner = Workflow("inner").then(gate)
    wf = Workflow("outer").foreach(inner).commit()
    assert wf.find_step("inner[1].gate") is gate and wf.find_step("inner[1].nope") is None
    run = wf.create_run()
    result = await run.start([1, 2])
    assert result.status == "suspended" and sorted(result.suspended) == [
        "inner[0].gate",
        "inner[1].gate",
    ]
    with pytest.raises(ValidationError, match="'gate' is not Approval"):
        await run.resume("inner[1].gate", {"yes": 3})
    assert (await run.resume("inner[1].gate", {"yes": True})).suspended == ["inner[0].gate"]
    assert (await run.resume("inner[0].gate", {"yes": False})).result == [1, 3]


# -- 3. a process killed mid-run: the run is continued, finished steps are not redone -------

CHILD = textwrap.dedent("""
    import asyncio, sys
    from tests.workflows.test_faults import WORKFLOWS, make_storage
    async def main(kind, where, workdir, name, run_id):
        wf = WORKFLOWS[name](make_storage(kind, where), workdir)
        if name == "first":
            await wf.create_run(run_id).start(5)
        else:
            await (await wf.get_run(run_id)).resume("approve", {"yes": True, "by": "kid"})
    asyncio.run(main(*sys.argv[1:]))
""")


async def kill_during(step_name, kind, location, workdir, name, run_id, request):
    """Run the child (start "first" / resume "ship") until ``step_name`` has started, then
    SIGKILL it; returns the child's pid."""
    hang = workdir / f"hang-{step_name}"
    hang.touch()
    seen = len(ledger(workdir, step_name))
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", CHILD, kind, location, str(workdir), name, run_id),
        cwd=str(request.config.rootpath),
    )
    deadline = time.monotonic() + 60
    while len(ledger(workdir, step_name)) == seen:
        assert time.monotonic() < deadline and child.returncode is None, "child never got there"
        await asyncio.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL
    hang.unlink()
    return child.pid


async def suspended_ship_run(storage, workdir):
    wf = build(storage, workdir)
    run = wf.create_run()
    assert (await run.start("tea")).status == "suspended"
    return wf, run.run_id


async def test_a_first_execution_killed_mid_step_is_recovered(where, tmp_path, request):
    kind, location = where
    storage = make_storage(kind, location)
    wf = first_run_workflow(storage, tmp_path)
    child = await kill_during("b", kind, location, tmp_path, "first", "r1", request)
    stored = await storage.get_workflow_run("first", "r1")
    assert stored.status == "running" and set(stored.steps) == {"$input", "a"}  # b not done
    assert stored.steps["a"]["status"] == "success"
    assert await wf.recover() == []  # the dead child's lease has not lapsed yet
    await asyncio.sleep(1.1)
    results = await wf.recover()
    assert [(r.status, r.result) for r in results] == [("success", (5 + 1) * 2 - 3)]
    assert ledger(tmp_path, "a") == [str(child)]  # recorded before the kill: not redone
    assert ledger(tmp_path, "b") == [str(child), str(os.getpid())]  # interrupted: redone
    assert ledger(tmp_path, "c") == [str(os.getpid())]
    assert await wf.recover() == []  # nothing left to do, and nothing is done twice
    await storage.close()


async def test_a_resume_killed_mid_step_is_recovered_with_its_data(where, tmp_path, request):
    kind, location = where
    storage = make_storage(kind, location)
    wf, run_id = await suspended_ship_run(storage, tmp_path)
    await kill_during("approve", kind, location, tmp_path, "ship", run_id, request)
    stored = await storage.get_workflow_run("ship", run_id)
    assert stored.status == "running" and stored.snapshot["resume"]["approve"]["by"] == "kid"
    await asyncio.sleep(1.1)
    results = await wf.recover()
    assert [r.result for r in results] == ["TEA:True:kid"]  # the resume the child accepted
    assert ledger(tmp_path, "prepare") == ["tea"]
    assert ledger(tmp_path, "approve") == ["False", "True", "True"]
    assert ledger(tmp_path, "finish") == [str(os.getpid())]
    assert (await storage.get_workflow_run("ship", run_id)).status == "success"
    await storage.close()


async def test_a_resume_killed_mid_step_can_be_resumed_again(where, tmp_path, request):
    kind, location = where
    storage = make_storage(kind, location)
    wf, run_id = await suspended_ship_run(storage, tmp_path)
    await kill_during("approve", kind, location, tmp_path, "ship", run_id, request)
    with pytest.raises(WorkflowError, match=r"executing elsewhere.*lapses after 1 s"):
        await (await wf.get_run(run_id)).resume("approve", {"yes": False, "by": "me"})
    started = time.monotonic()
    while True:  # what a user retrying would do; works once the dead child's lease lapses
        try:
            again = await wf.get_run(run_id)
            result = await again.resume("approve", {"yes": False, "by": "me"})
            break
        except WorkflowError as exc:
            assert "executing elsewhere" in str(exc) and time.monotonic() - started < 5
            await asyncio.sleep(0.1)
    assert result.status == "success" and result.result == "TEA:False:me"
    assert ledger(tmp_path, "finish") == [str(os.getpid())]
    await storage.close()


async def test_a_run_killed_after_its_resumed_step_is_recovered_not_resumed(tmp_path, request):
    location = str(tmp_path / "after.db")
    storage = SQLiteStorage(location)
    wf, run_id = await suspended_ship_run(storage, tmp_path)
    child = await kill_during("slow", "sqlite", location, tmp_path, "ship", run_id, request)
    await asyncio.sleep(1.1)
    with pytest.raises(WorkflowError, match="past its suspended steps; recover"):
        await (await wf.get_run(run_id)).resume("approve", {"yes": False})
    assert [r.result for r in await wf.recover()] == ["TEA:True:kid"]
    assert ledger(tmp_path, "approve") == ["False", "True"]  # finished before the kill
    assert ledger(tmp_path, "slow") == [str(child), str(os.getpid())]
    await storage.close()


def first_run_workflow(storage, workdir):
    """a -> b (waits while hang-b exists) -> c, each noting the pid that ran it."""
    workdir = Path(workdir)

    @step
    def a(ctx: StepContext, n: int) -> int:
        note(workdir, "a", str(os.getpid()))
        return n + 1

    @step
    async def b(ctx: StepContext, n: int) -> int:
        note(workdir, "b", str(os.getpid()))
        await hold(workdir, "b")
        return n * 2

    @step
    def c(ctx: StepContext, n: int) -> int:
        note(workdir, "c", str(os.getpid()))
        return n - 3

    return Workflow("first", storage=storage, lease_seconds=1.0).then(a).then(b).then(c).commit()


WORKFLOWS = {"ship": build, "first": first_run_workflow}


# -- leases are renewed while a step runs, and a process that lost its lease stops ----------


async def test_a_step_longer_than_the_lease_keeps_others_out(tmp_path):
    storage = SQLiteStorage(tmp_path / "long.db")
    other = SQLiteStorage(tmp_path / "long.db")
    runs = []

    @step
    async def long(ctx: StepContext, n: int) -> int:
        runs.append(n)
        await asyncio.sleep(1.5)  # three times the lease
        return n + 1

    def workflow(where):
        return Workflow("long", storage=where, lease_seconds=0.5).then(long).commit()

    run = workflow(storage).create_run()
    task = asyncio.create_task(run.start(1))
    for _ in range(6):
        await asyncio.sleep(0.25)
        assert await workflow(other).recover() == []  # the owner is alive: hands off
    assert (await task).result == 2 and runs == [1]
    await storage.close()
    await other.close()


async def stall_past_the_lease(path, name, work):
    """Start a run in a thread whose event loop ``work`` blocks past its lease (a stand-in
    for a GC pause or a frozen VM), recover the run here meanwhile, and return the stalled
    side's error and this side's storage."""

    def workflow(storage):
        return Workflow(name, storage=storage, lease_seconds=0.5).then(work).commit()

    outcome = {}

    def stalled_process():
        async def main():
            storage = SQLiteStorage(path)
            try:
                await workflow(storage).create_run("r").start(4)
            except WorkflowError as exc:
                outcome["error"] = str(exc)
            finally:
                await storage.close()

        asyncio.run(main())

    thread = threading.Thread(target=stalled_process)
    thread.start()
    storage = SQLiteStorage(path)
    wf = workflow(storage)
    recovered = []
    give_up = time.monotonic() + 30  # fail, not hang, if the stalled side somehow finished
    while not recovered and time.monotonic() < give_up:
        await asyncio.sleep(0.1)
        recovered = await wf.recover()
    assert recovered and recovered[0].result == 40
    await asyncio.to_thread(thread.join, 10)
    stored = await storage.get_workflow_run(name, "r")
    assert stored.status == "success" and stored.snapshot["data"] == 40
    return outcome.get("error", ""), storage


async def test_a_process_that_stalls_past_its_lease_cannot_overwrite_the_new_owner(tmp_path):
    """The stalled process, waking, writes first: its write is refused."""
    stall = threading.Event()
    stall.set()

    @step
    def work(ctx: StepContext, n: int) -> int:
        if stall.is_set():
            stall.clear()
            time.sleep(1.5)  # blocks its loop: no heartbeat for three leases
            return -1
        return n * 10

    error, storage = await stall_past_the_lease(tmp_path / "stall.db", "stall", work)
    assert "lost its lease" in error
    await storage.close()


async def test_a_process_that_wakes_after_the_run_finished_cannot_take_the_lease_back(
    tmp_path,
):
    """The stalled process's heartbeat fires before its next write: renewing must not
    recreate the lease the new owner gave up when it finished the run."""
    stall = threading.Event()
    stall.set()

    @step
    async def work(ctx: StepContext, n: int) -> int:
        if stall.is_set():
            stall.clear()
            time.sleep(1.5)  # blocks its loop while another process finishes the run
            await asyncio.sleep(0.5)  # the heartbeat runs here, before the write below
            return -1
        return n * 10

    error, storage = await stall_past_the_lease(tmp_path / "late.db", "late", work)
    assert "lost its lease" in error
    assert await storage.acquire_lease("workflow:late:r", "someone", 1)  # nobody holds it
    await storage.close()


async def test_recover_needs_storage_and_the_registry_recovers_every_workflow(tmp_path):
    with pytest.raises(WorkflowError, match="has no storage"):
        await Workflow("x").then(step(lambda ctx, n: n)).commit().recover()
    storage = InMemoryStorage()
    wf = first_run_workflow(None, tmp_path)
    app = Mastra(workflows=[wf], storage=storage)
    assert await app.recover_workflows() == {"first": []}
