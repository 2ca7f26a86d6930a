"""Per-step overhead of workflows with trivial steps — a 100-step chain and a 50-wide
fan-out — in memory and with durable snapshots, beside LangGraph's StateGraph (and its
in-memory checkpointer for the durable case)."""

import asyncio
import operator
import tempfile
from pathlib import Path
from typing import Annotated, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from mastra.storage import SQLiteStorage
from mastra.workflows import Step, Workflow

CHAIN, WIDTH = 100, 50


def mastra_chain(storage=None, durability="sync"):
    wf = Workflow("chain", storage=storage, durability=durability)
    for i in range(CHAIN):
        wf.then(Step(f"s{i}", lambda ctx, n: n + 1))
    return wf.commit()


def mastra_fan(storage=None, durability="sync"):
    return (
        Workflow("fan", storage=storage, durability=durability)
        .parallel([Step(f"b{i}", lambda ctx, n: n + 1) for i in range(WIDTH)])
        .commit()
    )


class ChainState(TypedDict):
    n: int


class FanState(TypedDict):
    n: int
    outs: Annotated[list, operator.add]


def langgraph_chain(checkpoint=False):
    graph = StateGraph(ChainState)
    for i in range(CHAIN):
        graph.add_node(f"s{i}", lambda state: {"n": state["n"] + 1})
    graph.add_edge(START, "s0")
    for i in range(CHAIN - 1):
        graph.add_edge(f"s{i}", f"s{i + 1}")
    graph.add_edge(f"s{CHAIN - 1}", END)
    return graph.compile(checkpointer=InMemorySaver() if checkpoint else None)


def langgraph_fan(checkpoint=False):
    graph = StateGraph(FanState)
    for i in range(WIDTH):
        graph.add_node(f"b{i}", lambda state: {"outs": [state["n"] + 1]})
        graph.add_edge(START, f"b{i}")
        graph.add_edge(f"b{i}", END)
    return graph.compile(checkpointer=InMemorySaver() if checkpoint else None)


@pytest.fixture(scope="module")
def loop():
    runner = asyncio.Runner()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def sqlite(loop):
    storage = SQLiteStorage(Path(tempfile.mkdtemp()) / "wf.db")
    loop.run(storage.init())
    yield storage
    loop.run(storage.close())


def runner_for(framework, shape, durable, sqlite):
    if framework.startswith("mastra"):
        durability = framework.split("-")[1] if "-" in framework else "sync"
        wf = (mastra_chain if shape == "chain" else mastra_fan)(
            sqlite if durable else None, durability
        )
        return lambda: wf.create_run().start(0)
    graph = (langgraph_chain if shape == "chain" else langgraph_fan)(durable)
    counter = iter(range(10**9))

    def invoke():
        config = {"configurable": {"thread_id": str(next(counter))}} if durable else None
        state = {"n": 0} if shape == "chain" else {"n": 0, "outs": []}
        return graph.ainvoke(
            state, config, **({"recursion_limit": 500} if shape == "chain" else {})
        )

    return invoke


CASES = [
    ("mastra", False),
    ("langgraph", False),
    ("mastra", True),
    ("mastra-async", True),
    ("mastra-exit", True),
    ("langgraph", True),
]


@pytest.mark.parametrize("shape", ["chain", "fan"])
@pytest.mark.parametrize(
    ("framework", "durable"),
    CASES,
    ids=[f"{f}-{'durable' if d else 'in-memory'}" for f, d in CASES],
)
def test_workflow_overhead(benchmark, loop, sqlite, framework, shape, durable):
    make = runner_for(framework, shape, durable, sqlite)
    loop.run(make())
    steps = CHAIN if shape == "chain" else WIDTH
    what = f"{CHAIN}-step chain" if shape == "chain" else f"{WIDTH}-wide fan-out"
    store = "durable: SQLite snapshots / LangGraph InMemorySaver" if durable else "in memory"
    benchmark.group = f"{what}, {store}"
    benchmark.pedantic(lambda: loop.run(make()), rounds=20, warmup_rounds=2)
    benchmark.extra_info["us per step"] = round(benchmark.stats.stats.median / steps * 1e6, 1)


SHORT = 3


@pytest.mark.parametrize("path", ["await run.start", "run.start_sync"])
def test_sync_twin_vs_async(benchmark, loop, path):
    """A 3-step in-memory chain through start_sync and through await start: what a sync
    caller pays on top of the async path."""
    wf = Workflow("short")
    for i in range(SHORT):
        wf.then(Step(f"s{i}", lambda ctx, n: n + 1))
    wf.commit()
    if path == "run.start_sync":
        call = lambda: wf.create_run().start_sync(0)  # noqa: E731
    else:
        on_loop = loop.get_loop()  # the async path on a loop, without Runner.run's signal swap
        call = lambda: on_loop.run_until_complete(wf.create_run().start(0))  # noqa: E731
    assert call().result == SHORT
    benchmark.group = f"{SHORT}-step chain in memory: sync twin vs async path"
    benchmark(call)
