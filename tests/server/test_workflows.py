"""Workflow routes with @mastra/client-js's requests: create-run, start-async, resume-async,
the record-separated streams, runs, and errors."""

import asyncio

import orjson

from mastra.storage import SQLiteStorage
from tests.server.conftest import client_js_records, make_mastra


async def test_details_carry_steps_schemas_and_graph(client):
    api = await client()
    listed = await (await api.get("/api/workflows")).json()
    payment = listed["payment"]
    assert payment["name"] == "payment" and set(payment["steps"]) == {"double", "review"}
    assert orjson.loads(payment["steps"]["review"]["resumeSchema"])["$ref"].endswith("Approval")
    assert [entry["type"] for entry in payment["stepGraph"]] == ["step", "step"]
    assert orjson.loads(payment["inputSchema"]) == {"type": "integer"}
    assert (await api.get("/api/workflows/nope")).status == 404


async def test_start_suspend_and_resume_async(client):
    api = await client()
    run_id = (await (await api.post("/api/workflows/payment/create-run?runId=")).json())["runId"]
    started = await api.post(
        f"/api/workflows/payment/start-async?runId={run_id}", json={"inputData": 21}
    )
    result = await started.json()
    assert result["status"] == "suspended" and result["suspended"] == [["review"]]
    assert result["suspendPayload"] == {"question": "approve 42?"}
    assert result["steps"]["double"] == {
        "status": "success",
        "output": 42,
        "startedAt": result["steps"]["double"]["startedAt"],
        "endedAt": result["steps"]["double"]["endedAt"],
    }
    bad = await api.post(
        f"/api/workflows/payment/resume-async?runId={run_id}",
        json={"step": ["review"], "resumeData": {"ok": "yes"}},
    )
    assert bad.status == 400 and "`$.ok`" in (await bad.json())["error"]["message"]
    resumed = await api.post(
        f"/api/workflows/payment/resume-async?runId={run_id}",
        json={"step": ["review"], "resumeData": {"ok": True}},
    )
    final = await resumed.json()
    assert final["status"] == "success" and final["result"] == {"amount": 42, "approved": True}
    again = await api.post(
        f"/api/workflows/payment/resume-async?runId={run_id}",
        json={"step": "review", "resumeData": {"ok": False}},
    )
    assert again.status == 409 and "not suspended" in (await again.json())["error"]["message"]
    runs = await (await api.get("/api/workflows/payment/runs")).json()
    assert [r["runId"] for r in runs["runs"]] == [run_id] and runs["total"] == 1
    state = await (await api.get(f"/api/workflows/payment/runs/{run_id}")).json()
    assert state["status"] == "success" and state["result"] == {"amount": 42, "approved": True}


async def test_bad_input_is_400_and_unknown_run_404(client):
    api = await client()
    answer = await api.post("/api/workflows/payment/start-async", json={"inputData": "many"})
    assert answer.status == 400 and "input is not int" in (await answer.json())["error"]["message"]
    missing = await api.post("/api/workflows/payment/resume-async?runId=ghost", json={})
    assert missing.status == 404
    no_id = await api.post("/api/workflows/payment/resume-async", json={})
    assert no_id.status == 400 and "runId is required" in await no_id.text()


async def test_streams_are_record_separated_json(client):
    api = await client()
    response = await api.post("/api/workflows/payment/stream?runId=s1", json={"inputData": 5})
    chunks = client_js_records(await response.read())
    assert {c["from"] for c in chunks} == {"WORKFLOW"} and {c["runId"] for c in chunks} == {"s1"}
    kinds = [c["type"] for c in chunks]
    assert kinds == [
        "workflow-start",
        "workflow-step-start",
        "workflow-step-result",
        "workflow-step-start",
        "workflow-step-suspended",
        "workflow-finish",
    ]
    assert chunks[1]["payload"]["stepCallId"] == chunks[2]["payload"]["stepCallId"]
    assert chunks[4]["payload"]["suspendPayload"] == {"question": "approve 10?"}
    assert chunks[-1]["payload"]["workflowStatus"] == "suspended"
    resumed = await api.post(
        "/api/workflows/payment/resume-stream?runId=s1",
        json={"step": "review", "resumeData": {"ok": False}},
    )
    chunks = client_js_records(await resumed.read())
    assert chunks[-1]["payload"]["workflowStatus"] == "success"
    assert chunks[-2]["payload"]["output"] == {"amount": 10, "approved": False}


async def test_fire_and_forget_start_and_observe(client):
    api = await client()
    started = await api.post("/api/workflows/payment/start?runId=bg", json={"inputData": 1})
    assert (await started.json())["message"] == "Workflow run started"
    for _ in range(200):
        state = await api.get("/api/workflows/payment/runs/bg")
        if state.status == 200 and (await state.json())["status"] == "suspended":
            break
        await asyncio.sleep(0.01)
    observed = client_js_records(
        await (await api.post("/api/workflows/payment/observe-stream?runId=bg")).read()
    )
    assert observed[-1]["payload"]["workflowStatus"] == "suspended"


async def test_a_run_suspended_through_one_server_resumes_through_another(client, tmp_path):
    """Two servers (two registries) on one SQLite file: start here, resume there."""
    first = await client(make_mastra(SQLiteStorage(tmp_path / "shared.db")))
    second = await client(make_mastra(SQLiteStorage(tmp_path / "shared.db")))
    await first.post("/api/workflows/payment/start-async?runId=x1", json={"inputData": 3})
    resumed = await second.post(
        "/api/workflows/payment/resume-async?runId=x1",
        json={"step": "review", "resumeData": {"ok": True}},
    )
    assert (await resumed.json())["result"] == {"amount": 6, "approved": True}
