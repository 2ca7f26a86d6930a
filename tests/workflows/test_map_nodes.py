"""``.map(fn)`` nodes run like steps: each has its own id (``mapping_<position>``, prefixed
inside a nested workflow), reports ``step-start`` / ``step-finish`` / ``step-error`` in order,
is recorded in the run's steps, and neither breaks a durable run continued after a SIGKILL
nor a run stored before maps were recorded."""

import asyncio
import os
import signal
import sqlite3
import sys
import textwrap
import time
from pathlib import Path

import msgspec
import pytest

from mastra.errors import WorkflowGraphError
from mastra.storage import SQLiteStorage
from mastra.workflows import Step, StepContext, Workflow, step


@step
def price(ctx: StepContext, qty: int) -> dict:
    return {"qty": qty, "each": 2.5}


@step
def tax(ctx: StepContext, total: float) -> float:
    return round(total * 1.2, 2)


def total(priced: dict) -> float:
    return priced["qty"] * priced["each"]


async def receipt(amount: float, ctx: StepContext) -> dict:
    return {"amount": amount, "by": ctx.step_id}


def checkout() -> Workflow:
    return Workflow("checkout", input=int).then(price).map(total).then(tax).map(receipt).commit()


async def events_of(wf: Workflow, input):
    """The run, its result and its events as (type, step, payload)."""
    run = wf.create_run()
    events = run.watch()
    started = asyncio.ensure_future(run.start(input))
    seen = [(e.type, e.step, e.payload) async for e in events]
    return run, await started, seen


async def test_two_maps_report_like_steps_in_order_with_distinct_ids():
    _, result, events = await events_of(checkout(), 4)
    assert events == [
        ("step-start", "price", None),
        ("step-finish", "price", {"qty": 4, "each": 2.5}),
        ("step-start", "mapping_1", None),
        ("step-finish", "mapping_1", 10.0),
        ("step-start", "tax", None),
        ("step-finish", "tax", 12.0),
        ("step-start", "mapping_3", None),
        ("step-finish", "mapping_3", {"amount": 12.0, "by": "mapping_3"}),
        ("run-finish", None, "success"),
    ]
    assert result.status == "success" and result.result == {"amount": 12.0, "by": "mapping_3"}
    first = result.steps["mapping_1"]
    assert first.status == "success" and first.output == 10.0 and first.attempts == 1
    assert 0 < first.started_at <= first.ended_at
    # the same definition built again (another process) gives the same ids
    assert [n.ids() for n in checkout().nodes] == [["price"], ["mapping_1"], ["tax"], ["mapping_3"]]


async def test_maps_in_a_nested_workflow_keep_its_prefix():
    inner = Workflow("inner").map(lambda n: n + 1).then(tax).map(lambda t: f"{t:.1f}").commit()
    outer = Workflow("outer", input=int).map(lambda n: n / 1).then(inner).commit()
    _, result, events = await events_of(outer, 4)
    finished = [(s, p) for t, s, p in events if t == "step-finish"]
    assert finished == [
        ("mapping_0", 4.0),
        ("inner.mapping_0", 5.0),
        ("inner.tax", 6.0),
        ("inner.mapping_2", "6.0"),
    ]
    assert result.result == "6.0" and set(result.steps) == {
        "mapping_0",
        "inner.mapping_0",
        "inner.tax",
        "inner.mapping_2",
    }


async def test_a_failing_map_fails_the_run_with_a_step_error(tmp_path):
    ran: list[str] = []

    def broken(priced: dict) -> float:
        raise KeyError("price_each")

    @step
    def after(ctx: StepContext, amount: float) -> float:
        ran.append("after")
        return amount

    storage = SQLiteStorage(tmp_path / "runs.db")
    wf = Workflow("broken", input=int, storage=storage).then(price).map(broken).then(after)
    run, result, events = await events_of(wf.commit(), 3)
    assert events[2:] == [
        ("step-start", "mapping_1", None),
        ("step-error", "mapping_1", "KeyError: 'price_each'"),
        ("run-finish", None, "failed"),
    ]
    assert result.status == "failed" and ran == []
    assert result.error == "step 'mapping_1' failed: KeyError: 'price_each'"
    assert result.steps["mapping_1"].status == "failed"
    stored = await storage.get_workflow_run("broken", run.run_id)
    assert stored.status == "failed"
    assert stored.steps["mapping_1"]["error"] == "KeyError: 'price_each'"
    await storage.close()


def test_a_step_cannot_take_a_maps_id():
    clash = Step("mapping_1", lambda ctx, n: n)
    with pytest.raises(WorkflowGraphError, match="uses the step id 'mapping_1' twice"):
        Workflow("clash").then(price).map(total).then(clash).commit()


class Box:
    """Not JSON: a map may still hand it to the next node."""

    def __init__(self, value: float) -> None:
        self.value = value


async def test_a_map_output_that_is_not_json_is_recorded_but_not_stored(tmp_path):
    unbox = Step("unbox", lambda ctx, box: box.value)
    storage = SQLiteStorage(tmp_path / "runs.db")
    wf = Workflow("boxed", input=int, storage=storage).then(price).map(total).map(Box)
    run, result, events = await events_of(wf.then(unbox).commit(), 2)
    assert result.status == "success" and result.result == 5.0
    box = result.steps["mapping_2"].output
    assert isinstance(box, Box) and ("step-finish", "mapping_2", repr(box)) in events
    stored = await storage.get_workflow_run("boxed", run.run_id)
    assert stored.status == "success"
    assert set(stored.steps) == {"$input", "price", "mapping_1", "unbox"}
    assert set(run.snapshot().snapshot["results"]) == {"price", "mapping_1", "unbox"}
    await storage.close()


# -- resume: with map records, and from a run stored before maps were recorded --------------


class Approval(msgspec.Struct):
    yes: bool


def approval_flow(storage, calls: list[str]) -> Workflow:
    """prep -> inner(map -> ask (suspends) -> map) -> map -> done: a resume runs the nested
    workflow again from its start, so its first map is asked for again."""

    def counted(name, fn):
        def mapped(data):
            calls.append(name)
            return fn(data)

        return mapped

    @step
    def prep(ctx: StepContext, n: int) -> int:
        calls.append("prep")
        return n * 10

    @step(resume=Approval)
    async def ask(ctx: StepContext, n: int) -> dict:
        calls.append("ask")
        if ctx.resume_data is None:
            await ctx.suspend({"question": f"approve {n}?"})
        return {"n": n, "yes": ctx.resume_data.yes}

    inner = (
        Workflow("inner", input=int)
        .map(counted("inner.first", lambda n: n + 1))
        .then(ask)
        .map(counted("inner.last", lambda d: d["n"] if d["yes"] else 0))
        .commit()
    )
    return (
        Workflow("approval", input=int, storage=storage)
        .then(prep)
        .then(inner)
        .map(counted("outer", lambda n: {"total": n}))
        .commit()
    )


def forget_maps(path: Path, run_id: str) -> int:
    """Delete the run's map records, leaving what a run stored before maps were recorded
    holds (its row and its steps' records are written the same way)."""
    connection = sqlite3.connect(path)
    with connection:
        deleted = connection.execute(
            "DELETE FROM mastra_workflow_steps WHERE run_id = ? AND step_key LIKE '%mapping_%'",
            (run_id,),
        ).rowcount
    connection.close()
    return deleted


@pytest.mark.parametrize("stored_before_maps", [False, True])
async def test_a_suspended_run_resumes_in_another_process(tmp_path, stored_before_maps):
    path = tmp_path / "runs.db"
    first, calls = SQLiteStorage(path), []
    run = approval_flow(first, calls).create_run()
    suspended = await run.start(4)
    assert suspended.status == "suspended" and suspended.suspended == ["inner.ask"]
    assert suspended.steps["inner.mapping_0"].output == 41
    await first.close()
    if stored_before_maps:
        assert forget_maps(path, run.run_id) == 1  # inner.mapping_0, written with ask's record

    second, again = SQLiteStorage(path), []  # a new process: its own storage and workflow
    wf = approval_flow(second, again)
    loaded = await wf.get_run(run.run_id)
    # a reloaded run lists its records in the order they ran (SQLite keeps them by key)
    kept = ["prep", "inner.ask"] if stored_before_maps else ["prep", "inner.mapping_0", "inner.ask"]
    assert list(loaded.results) == kept
    done = await loaded.resume("inner.ask", {"yes": True})
    assert done.status == "success" and done.result == {"total": 41}
    # a map is a pure function: asked again only when its record is missing; steps never
    expected = ["ask", "inner.last", "outer"]
    assert again == (["inner.first", *expected] if stored_before_maps else expected)
    stored = await second.get_workflow_run("approval", run.run_id)
    assert {k for k in stored.steps if "mapping_" in k} == {
        "inner.mapping_0",
        "inner.mapping_2",
        "mapping_2",
    }
    await second.close()


# -- a process killed mid-run: recover runs no step twice -----------------------------------

CHILD = textwrap.dedent("""
    import asyncio, sys
    from mastra.storage import SQLiteStorage
    from tests.workflows.test_map_nodes import killable
    async def main(path, workdir):
        await killable(SQLiteStorage(path), workdir).create_run("r1").start(5)
    asyncio.run(main(*sys.argv[1:]))
""")


def note(workdir: Path, name: str) -> None:
    with open(workdir / f"{name}.log", "a") as out:
        out.write(f"{os.getpid()}\n")


def ledger(workdir: Path, name: str) -> list[str]:
    path = workdir / f"{name}.log"
    return path.read_text().split() if path.exists() else []


def killable(storage, workdir) -> Workflow:
    """a -> map -> b -> map -> c (waits while the file hang-c exists) -> map; every step and
    map notes the pid that ran it."""
    workdir = Path(workdir)

    def noted(name, fn):
        def run(data):
            note(workdir, name)
            return fn(data)

        return run

    def noted_step(name, fn):
        return Step(name, lambda ctx, data: noted(name, fn)(data))

    async def c(ctx: StepContext, n: int) -> int:
        note(workdir, "c")
        while (workdir / "hang-c").exists():
            await asyncio.sleep(0.02)
        return n - 3

    return (
        Workflow("killable", storage=storage, lease_seconds=1.0)
        .then(noted_step("a", lambda n: n + 1))
        .map(noted("m1", lambda n: n * 2))
        .then(noted_step("b", lambda n: n + 100))
        .map(noted("m2", lambda n: n * 3))
        .then(Step("c", c))
        .map(noted("m3", lambda n: {"total": n}))
        .commit()
    )


async def test_a_run_killed_after_its_maps_is_recovered_without_redoing_steps(tmp_path, request):
    path = tmp_path / "runs.db"
    (tmp_path / "hang-c").touch()
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", CHILD, str(path), str(tmp_path)),
        cwd=str(request.config.rootpath),
    )
    deadline = time.monotonic() + 60
    while not ledger(tmp_path, "c"):
        assert time.monotonic() < deadline and child.returncode is None, "child never got to c"
        await asyncio.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL
    (tmp_path / "hang-c").unlink()

    storage = SQLiteStorage(path)
    stored = await storage.get_workflow_run("killable", "r1")
    # m1 was written with b's record; m2 waits for c's, which never came
    assert stored.status == "running" and set(stored.steps) == {"$input", "a", "mapping_1", "b"}
    await asyncio.sleep(1.1)  # the dead child's lease lapses
    wf = killable(storage, tmp_path)
    [result] = await wf.recover()
    assert result.status == "success" and result.result == {"total": ((5 + 1) * 2 + 100) * 3 - 3}
    pid, me = str(child.pid), str(os.getpid())
    assert [ledger(tmp_path, n) for n in ("a", "m1", "b")] == [[pid], [pid], [pid]]
    assert ledger(tmp_path, "m2") == [pid, me]  # not stored yet: a pure map runs again
    assert ledger(tmp_path, "c") == [pid, me]  # interrupted: runs again
    assert ledger(tmp_path, "m3") == [me]
    assert await wf.recover() == []
    await storage.close()
