"""A workflow's ``.map`` nodes on the wire: their own ids in the step graph, their step chunks
in the record-separated stream (a failing map's too), and their records in the run."""

from mastra import Mastra
from mastra.storage import InMemoryStorage
from mastra.workflows import Workflow
from tests.server.conftest import client_js_records
from tests.workflows.test_map_nodes import price, tax


def total_of(priced: dict) -> float:
    if priced["qty"] < 0:
        raise ValueError(f"qty must be positive, got {priced['qty']}")
    return priced["qty"] * priced["each"]


def receipt(amount: float) -> str:
    return f"paid {amount:.2f}"


def registry() -> Mastra:
    inner = Workflow("wrap").map(receipt).commit()
    shop = Workflow("shop", input=int).then(price).map(total_of).then(tax).then(inner).commit()
    return Mastra(workflows=[shop], storage=InMemoryStorage())


async def test_each_map_has_its_own_id_in_the_step_graph(client):
    api = await client(registry())
    details = await (await api.get("/api/workflows/shop")).json()
    graph = details["stepGraph"]
    assert graph[1] == {"type": "step", "step": {"id": "mapping_1", "mapConfig": "total_of"}}
    assert [entry["step"]["id"] for entry in graph] == ["price", "mapping_1", "tax", "wrap"]
    # listed as steps too (as Mastra lists its mapping steps), taking and giving any data
    assert set(details["steps"]) == {"price", "mapping_1", "tax", "wrap"}
    assert set(details["allSteps"]) == {"price", "mapping_1", "tax", "wrap", "wrap.mapping_0"}
    mapping = details["allSteps"]["wrap.mapping_0"]
    assert mapping["description"] == "map receipt" and mapping["inputSchema"] == "{}"
    twice = Workflow("twice").map(receipt).map(str.upper).commit()
    api = await client(Mastra(workflows=[twice]))
    graph = (await (await api.get("/api/workflows/twice")).json())["stepGraph"]
    assert [entry["step"]["id"] for entry in graph] == ["mapping_0", "mapping_1"]


async def test_maps_stream_step_chunks_and_are_in_the_run(client):
    api = await client(registry())
    answer = await api.post("/api/workflows/shop/stream?runId=m1", json={"inputData": 4})
    chunks = client_js_records(await answer.read())
    steps = [
        (c["type"].removeprefix("workflow-step-"), c["payload"]["id"], c["payload"]["status"])
        for c in chunks
        if c["type"].startswith("workflow-step")
    ]
    assert steps == [
        (kind, key, status)
        for key in ("price", "mapping_1", "tax", "wrap.mapping_0")
        for kind, status in (("start", "running"), ("result", "success"))
    ]
    starts, results = (
        {c["payload"]["id"]: c["payload"] for c in chunks if c["type"] == f"workflow-step-{kind}"}
        for kind in ("start", "result")
    )
    assert results["mapping_1"]["output"] == 10.0
    assert results["wrap.mapping_0"]["output"] == "paid 12.00"
    assert starts["mapping_1"]["stepCallId"] == results["mapping_1"]["stepCallId"]
    state = await (await api.get("/api/workflows/shop/runs/m1")).json()
    assert state["status"] == "success" and state["result"] == "paid 12.00"
    assert state["steps"]["mapping_1"]["output"] == 10.0
    assert state["steps"]["wrap.mapping_0"]["status"] == "success"


async def test_a_failing_map_streams_a_failed_step_result(client):
    api = await client(registry())
    answer = await api.post("/api/workflows/shop/stream?runId=m2", json={"inputData": -1})
    chunks = client_js_records(await answer.read())
    assert [c["type"] for c in chunks][-3:] == [
        "workflow-step-start",
        "workflow-step-result",
        "workflow-finish",
    ]
    failed = chunks[-2]["payload"]
    assert failed["id"] == "mapping_1" and failed["status"] == "failed"
    assert failed["error"] == "ValueError: qty must be positive, got -1"
    assert chunks[-1]["payload"]["workflowStatus"] == "failed"
    state = await (await api.get("/api/workflows/shop/runs/m2")).json()
    assert state["status"] == "failed" and state["steps"]["mapping_1"]["status"] == "failed"
    assert "tax" not in state["steps"]


class Basket:
    def __init__(self, items: list[str]) -> None:
        self.items = items

    def __repr__(self) -> str:
        return f"Basket({self.items})"


async def test_a_map_output_that_is_not_json_is_shown_by_its_repr(client):
    # a map may hand the next node any object; the wire shows what it cannot encode by repr
    flow = Workflow("basket", input=str).map(lambda text: Basket(text.split())).commit()
    api = await client(Mastra(workflows=[flow]))
    run_id = (await (await api.post("/api/workflows/basket/create-run")).json())["runId"]
    answer = await api.post(
        f"/api/workflows/basket/start-async?runId={run_id}", json={"inputData": "egg ham"}
    )
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert body["status"] == "success" and body["result"] == "Basket(['egg', 'ham'])"
    assert body["steps"]["mapping_0"]["output"] == "Basket(['egg', 'ham'])"
