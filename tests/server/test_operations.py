"""Operations: health, request ids, CORS, Prometheus metrics, OpenAPI, traces and logs."""

import logging

from mastra.config import MastraConfig, TelemetryConfig
from tests.server.conftest import make_mastra


def traced():
    return make_mastra(config=MastraConfig(telemetry=TelemetryConfig(enabled=True)))


async def test_health_and_request_ids(client):
    api = await client()
    health = await api.get("/health")
    assert await health.json() == {"status": "ok"} and len(health.headers["X-Request-Id"]) == 32
    echoed = await api.get("/api/agents", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    streamed = await api.post(
        "/api/agents/echo/stream", json={"messages": "x"}, headers={"X-Request-Id": "s-1"}
    )
    assert streamed.headers["X-Request-Id"] == "s-1"


async def test_cors(client):
    api = await client(cors=["https://studio.example"])
    preflight = await api.options(
        "/api/agents/echo/stream",
        headers={"Origin": "https://studio.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    stream = await api.post(
        "/api/agents/echo/stream",
        json={"messages": "x"},
        headers={"Origin": "https://studio.example"},
    )
    assert stream.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    other = await api.get("/api/agents", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_metrics_in_prometheus_format(client):
    api = await client(traced())
    await api.post("/api/agents/echo/generate", json={"messages": "x"})
    text = await (await api.get("/metrics")).text()
    lines = text.splitlines()
    assert "# TYPE http_server_duration histogram" in lines
    route = 'route="/api/agents/{agent_id}/generate"'
    bucket = [
        line for line in lines if line.startswith("http_server_duration_bucket") and route in line
    ]
    assert bucket and all(line.split()[-1].isdigit() for line in bucket)
    assert any('le="+Inf"' in line and line.endswith(" 1") for line in bucket)
    count = [
        line for line in lines if line.startswith("http_server_duration_count{") and route in line
    ]
    assert count and count[0].endswith(" 1")


async def test_openapi_lists_every_route_and_its_body_schema(client):
    api = await client()
    document = await (await api.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    generate = paths["/api/agents/{agent_id}/generate"]["post"]
    assert generate["parameters"][0]["name"] == "agent_id"
    schema = generate["requestBody"]["content"]["application/json"]["schema"]
    component = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert "messages" in component["required"] and "maxSteps" in component["properties"]
    assert "/v1/chat/completions" in paths and "/api/workflows/{workflow_id}/resume-async" in paths
    registered = {
        (r.resource.canonical, r.method.lower())
        for r in api.server.app.router.routes()
        if r.method not in ("HEAD", "OPTIONS")
    }
    documented = {(p, m) for p, methods in paths.items() for m in methods}
    assert registered == documented


async def test_traces_and_logs(client):
    api = await client(traced())
    answer = await (
        await api.post("/api/agents/weather/generate", json={"messages": "Weather in Bonn"})
    ).json()
    traces = await (await api.get("/api/observability/traces?perPage=50&name=http.server")).json()
    roots = [
        s
        for s in traces["spans"]
        if s["attributes"]["http.route"] == "/api/agents/{agent_id}/generate"
    ]
    assert len(roots) == 1 and roots[0]["parentSpanId"] is None  # one trace per request
    trace = await (await api.get(f"/api/observability/traces/{roots[0]['traceId']}")).json()
    by_name = {s["name"]: s for s in trace["spans"]}
    assert {"http.server", "agent.run", "gen_ai.chat", "tool.call"} <= set(by_name)
    assert by_name["agent.run"]["attributes"]["mastra.run_id"] == answer["runId"]
    assert by_name["agent.run"]["parentSpanId"] == roots[0]["spanId"]
    assert (await api.get("/api/observability/traces/nope")).status == 404
    logging.getLogger("mastra.test").warning("a warning for the buffer")
    logs = await (await api.get("/api/observability/logs?level=warning")).json()
    assert logs["logs"][0]["message"] == "a warning for the buffer"


async def test_a_callers_trace_continues_and_spans_reach_storage(client):
    """An incoming traceparent makes the request span the caller's child; with telemetry on
    and storage, spans are batched into storage for the trace routes; scores are listed."""
    from mastra.storage import ScoreRecord

    mastra = traced()
    api = await client(mastra)
    caller = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    answer = await api.post(
        "/api/agents/echo/generate", json={"messages": "x"}, headers={"traceparent": caller}
    )
    assert answer.headers["traceparent"].startswith("00-" + "ab" * 16 + "-")
    await api.close()  # shutdown flushes the storage exporter
    spans = await mastra.storage.list_spans(trace_id="ab" * 16)
    server_span = next(s for s in spans if s.name == "http.server")
    assert server_span.parent_id == "cd" * 8
    assert {s.name for s in spans} >= {"http.server", "agent.run", "gen_ai.chat"}
    await mastra.storage.save_scores(
        [ScoreRecord(id="s1", scorer_id="tone", score=0.5, run_id="r1", entity_id="echo")]
    )
    api = await client(mastra)
    listed = await (await api.get("/api/scores?entityId=echo")).json()
    assert [(s["id"], s["scorerId"], s["score"]) for s in listed["scores"]] == [("s1", "tone", 0.5)]
