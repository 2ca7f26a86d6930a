import asyncio
import sys
import textwrap
import time

import msgspec
import pytest

from mastra import Mastra
from mastra.agent import Agent
from mastra.errors import MastraError, ValidationError, WorkflowError
from mastra.llm.testing import FunctionModel
from mastra.storage import InMemoryStorage, PostgresStorage, SQLiteStorage
from mastra.tools import tool
from mastra.workflows import Step, StepContext, Workflow, step


class Order(msgspec.Struct):
    item: str
    qty: int


class Priced(msgspec.Struct):
    item: str
    total: float


@step
async def price(ctx: StepContext, order: Order) -> Priced:
    return Priced(order.item, order.qty * 2.5)


@step(id="tax")
def add_tax(ctx: StepContext, priced: Priced) -> Priced:
    return Priced(priced.item, round(priced.total * 1.2, 2))


async def test_typed_chain_with_map():
    wf = (
        Workflow("checkout", input=Order, output=dict)
        .then(price)
        .then(add_tax)
        .map(lambda p: {"item": p.item, "total": p.total})
        .commit()
    )
    result = await wf.create_run().start({"item": "tea", "qty": 4})
    assert result.status == "success" and result.result == {"item": "tea", "total": 12.0}
    assert result.steps["price"].output == Priced("tea", 10.0)
    assert result.steps["tax"].status == "success" and result.steps["tax"].attempts == 1
    with pytest.raises(
        ValidationError, match="input is not Order: Object missing required field `qty`"
    ):
        await wf.create_run().start({"item": "tea"})


def test_commit_checks_the_graph():
    with pytest.raises(WorkflowError, match="has no steps"):
        Workflow("empty").commit()
    with pytest.raises(WorkflowError, match="uses the step id 'price' twice"):
        Workflow("dup").then(price).then(price).commit()
    with pytest.raises(WorkflowError, match=r"then \['tax'\] takes Priced but receives Order"):
        Workflow("types", input=Order).then(add_tax).commit()
    with pytest.raises(WorkflowError, match="returns Priced but declares output Order"):
        Workflow("out", input=Order, output=Order).then(price).commit()
    committed = Workflow("ok").then(price).commit()
    with pytest.raises(WorkflowError, match="is committed"):
        committed.then(add_tax)


def sleeper(name, seconds):
    async def run(ctx, data):
        await asyncio.sleep(seconds)
        return f"{name}:{data}"

    return Step(name, run)


async def test_parallel_is_concurrent_and_branch_runs_every_match():
    wf = Workflow("fan").parallel([sleeper("a", 0.3), sleeper("b", 0.3)]).commit()
    started = time.monotonic()
    result = await wf.create_run().start("x")
    assert time.monotonic() - started < 0.5
    assert result.result == {"a": "a:x", "b": "b:x"}
    wf = (
        Workflow("route")
        .branch(
            [
                (lambda n: n > 0, sleeper("positive", 0)),
                (lambda n: n % 2 == 0, sleeper("even", 0)),
                (lambda n: n < 0, sleeper("negative", 0)),
            ]
        )
        .commit()
    )
    assert (await wf.create_run().start(4)).result == {"positive": "positive:4", "even": "even:4"}


async def test_loops_foreach_sleep_and_nesting():
    inc = Step("inc", lambda ctx, n: n + 1)
    assert (
        await Workflow("w").dowhile(inc, lambda n: n < 5).commit().create_run().start(0)
    ).result == 5
    dbl = Step("dbl", lambda ctx, n: n * 2)
    assert (
        await Workflow("u").dountil(dbl, lambda n: n > 50).commit().create_run().start(1)
    ).result == 64
    running = []

    async def slow(ctx, item):
        running.append(item)
        await asyncio.sleep(0.1)
        return item * 10

    wf = Workflow("each").foreach(Step("slow", slow), concurrency=3).sleep(0.01).commit()
    started = time.monotonic()
    result = await wf.create_run().start([1, 2, 3, 4, 5, 6])
    assert result.result == [10, 20, 30, 40, 50, 60]
    assert 0.19 < time.monotonic() - started < 0.5  # two waves of three (one by one: 0.6)
    assert result.steps["slow[5]"].output == 60
    inner = (
        Workflow("inner")
        .then(Step("half", lambda ctx, n: n / 2))
        .then(Step("neg", lambda ctx, n: -n))
    )
    outer = Workflow("outer").then(Step("start", lambda ctx, n: n + 2)).then(inner).commit()
    result = await outer.create_run().start(8)
    assert result.result == -5.0 and result.steps["inner.half"].output == 5.0


async def test_failures_retries_and_timeouts():
    attempts = []

    def flaky(ctx, data):
        attempts.append(ctx.attempt)
        if ctx.attempt < 2:
            raise ConnectionError("upstream hiccup")
        return "ok"

    wf = Workflow("retry").then(Step("flaky", flaky, retries=2, backoff=0.001)).commit()
    result = await wf.create_run().start(None)
    assert result.status == "success" and attempts == [0, 1, 2]
    assert result.steps["flaky"].attempts == 3

    async def stuck(ctx, data):
        await asyncio.sleep(5)

    wf = (
        Workflow("slow")
        .then(Step("stuck", stuck, timeout=0.05))
        .then(Step("after", lambda ctx, d: d))
        .commit()
    )
    result = await wf.create_run().start(None)
    assert result.status == "failed" and "timed out after 0.05 s" in result.error
    assert result.steps["stuck"].status == "failed" and "after" not in result.steps

    def broken(ctx, data):
        raise ValueError("bad row 7")

    storage = InMemoryStorage()
    wf = Workflow("boom", storage=storage).then(price).then(Step("broken", broken)).commit()
    run = wf.create_run()
    result = await run.start({"item": "x", "qty": 1})
    assert (
        result.status == "failed" and result.error == "step 'broken' failed: ValueError: bad row 7"
    )
    snapshot = await storage.get_workflow_run("boom", run.run_id)
    assert snapshot.status == "failed"
    assert snapshot.steps["broken"]["error"] == "ValueError: bad row 7"
    assert snapshot.steps["price"]["status"] == "success"


async def approve(ctx: StepContext, data):
    if ctx.resume_data is None:
        await ctx.suspend({"question": f"approve {data}?"})
    return {"approved": ctx.resume_data["yes"], "of": data}


def approval_workflow(storage):
    return (
        Workflow("approval", storage=storage)
        .then(Step("prepare", lambda c, d: d.upper()))
        .then(Step("approve", approve))
        .then(Step("finish", lambda c, d: d["approved"]))
    )


async def test_suspend_and_resume_in_process():
    wf = approval_workflow(InMemoryStorage()).commit()
    run = wf.create_run()
    result = await run.start("invoice")
    assert result.status == "suspended" and result.suspended == ["approve"]
    assert result.steps["approve"].suspend_payload == {"question": "approve INVOICE?"}
    with pytest.raises(WorkflowError, match="not suspended"):
        await run.resume(step="prepare", data={})
    result = await run.resume(data={"yes": True})
    assert result.status == "success" and result.result is True
    with pytest.raises(WorkflowError, match="is success, not suspended"):
        await run.resume(data={})


RESUMER = textwrap.dedent("""
    import asyncio, sys
    from tests.workflows.test_workflows import approval_workflow, make_storage
    async def main(kind, where, run_id):
        storage = make_storage(kind, where)
        wf = approval_workflow(storage).commit()
        run = await wf.get_run(run_id)
        result = await run.resume(step="approve", data={"yes": False})
        print(result.status, result.result, result.steps["prepare"].attempts)
        await storage.close()
    asyncio.run(main(*sys.argv[1:]))
""")


def make_storage(kind, where):
    return SQLiteStorage(where) if kind == "sqlite" else PostgresStorage(where)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_resume_in_a_new_process(kind, tmp_path, request):
    where = str(tmp_path / "wf.db") if kind == "sqlite" else request.getfixturevalue("postgres_dsn")
    storage = make_storage(kind, where)
    run = approval_workflow(storage).commit().create_run()
    assert (await run.start("order-1")).status == "suspended"
    await storage.close()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RESUMER,
        kind,
        where,
        run.run_id,
        stdout=asyncio.subprocess.PIPE,
        cwd=str(request.config.rootpath),
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    assert out.decode().split() == ["success", "False", "1"]  # prepare was not run again
    storage = make_storage(kind, where)
    stored = await approval_workflow(storage).get_run(run.run_id)
    assert stored.status == "success"
    await storage.close()


async def test_two_concurrent_resumes_only_one_proceeds(tmp_path):
    storage = SQLiteStorage(tmp_path / "race.db")
    entered = []

    async def guarded(ctx, data):
        if ctx.resume_data is None:
            await ctx.suspend()
        entered.append(ctx.run_id)
        await asyncio.sleep(0.2)
        return "done"

    def build():
        return Workflow("race", storage=storage).then(Step("gate", guarded)).commit()

    run = build().create_run()
    await run.start(None)
    first, second = await build().get_run(run.run_id), await build().get_run(run.run_id)
    outcomes = await asyncio.gather(
        first.resume(data=1), second.resume(data=2), return_exceptions=True
    )
    assert len(entered) == 1
    assert (
        sum(isinstance(o, WorkflowError) and "executing elsewhere" in str(o) for o in outcomes) == 1
    )
    await storage.close()


async def test_events_cancel_registry_and_agents_tools_as_steps():
    wf = Workflow("events").then(price).then(add_tax).commit()
    events = [e async for e in wf.create_run().stream({"item": "a", "qty": 2})]
    assert [(e.type, e.step) for e in events] == [
        ("step-start", "price"),
        ("step-finish", "price"),
        ("step-start", "tax"),
        ("step-finish", "tax"),
        ("run-finish", None),
    ]
    assert events[-1].payload == "success"

    slow = Workflow("cancel").then(sleeper("wait", 5)).commit()
    run = slow.create_run()
    task = asyncio.create_task(run.start("x"))
    await asyncio.sleep(0.05)
    run.cancel()
    assert (await task).status == "canceled"

    @tool
    def shout(text: str) -> str:
        """Upper-case the text."""
        return text.upper()

    agent = Agent("writer", model=FunctionModel(lambda r: f"draft: {r.messages[-1].text}"))
    wf = (
        Workflow("compose")
        .map(lambda topic: {"prompt": topic})
        .then(agent)
        .map(lambda out: {"text": out["text"]})
        .then(shout)
        .commit()
    )
    storage = InMemoryStorage()
    app = Mastra(workflows=[wf], storage=storage)
    run = app.get_workflow("compose").create_run()
    result = await run.start("tea")
    assert result.result == "DRAFT: TEA"
    assert [r.status for r in await wf.list_runs()] == ["success"]
    reloaded = await app.get_workflow("compose").get_run(run.run_id)
    assert reloaded.status == "success"


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_durability_modes_all_resume(durability, tmp_path):
    storage = SQLiteStorage(tmp_path / f"{durability}.db")
    seen = []

    def record(ctx, data):
        seen.append(data)
        return data + 1

    wf = (
        Workflow("modes", storage=storage, durability=durability)
        .then(Step("one", record))
        .then(Step("gate", guarded_gate))
        .then(Step("two", record))
        .commit()
    )
    run = wf.create_run()
    assert (await run.start(1)).status == "suspended"
    stored = await storage.get_workflow_run("modes", run.run_id)
    assert stored.status == "suspended" and stored.snapshot["position"] == 1
    again = await wf.get_run(run.run_id)
    result = await again.resume(data="go")
    assert result.status == "success" and result.result == 3 and seen == [1, 2]
    assert (await storage.get_workflow_run("modes", run.run_id)).status == "success"
    await storage.close()
    with pytest.raises(WorkflowError, match="durability must be"):
        Workflow("bad", durability="sometimes")


async def guarded_gate(ctx, data):
    if ctx.resume_data is None:
        await ctx.suspend()
    return data


def test_sync_twins_for_scripts(tmp_path):
    storage = SQLiteStorage(tmp_path / "sync.db")
    wf = approval_workflow(storage).commit()
    run = wf.create_run()
    assert run.start_sync("memo").status == "suspended"
    assert run.resume_sync("approve", {"yes": True}).result is True

    async def inside_a_loop():
        with pytest.raises(MastraError, match=r"start_sync\(\) cannot run inside a running"):
            wf.create_run().start_sync("x")

    asyncio.run(inside_a_loop())
    asyncio.run(storage.aclose())
