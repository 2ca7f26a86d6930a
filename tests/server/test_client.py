"""MastraClient against a real server: agents, tools, workflows, memory, vectors, scores."""

import pytest

from mastra.client import MastraClient
from mastra.errors import AuthenticationError, BadRequestError
from mastra.http import RetryPolicy
from mastra.server import ApiKeyAuth


@pytest.fixture
async def mastra_client(client):
    api = await client(auth=ApiKeyAuth(["sk-test"]))
    async with MastraClient(str(api.make_url("")), api_key="sk-test") as made:
        yield made


async def test_agents_and_tools(mastra_client):
    assert sorted(await mastra_client.list_agents()) == ["echo", "weather"]
    weather = mastra_client.get_agent("weather")
    assert (await weather.details())["tools"].keys() == {"get_weather"}
    answer = await weather.generate("Weather in Pisa", thread_id="c1", resource_id="u9")
    assert answer["text"] == "It is 18 C in Pisa."
    chunks = [c async for c in weather.stream("Weather in Nice", thread_id="c1", resource_id="u9")]
    assert chunks[-1]["type"] == "finish"
    assert "".join(c["payload"]["text"] for c in chunks if c["type"] == "text-delta") == (
        "It is 18 C in Nice."
    )
    messages = await mastra_client.get_memory_thread("c1", agent_id="weather").messages()
    assert [m["role"] for m in messages].count("user") == 2
    tool = weather.get_tool("get_weather")
    assert await tool.execute({"city": "Oslo"}) == {"city": "Oslo", "temp_c": 18}
    assert await mastra_client.get_tool("get_weather").execute({"city": "Bern"}) == {
        "city": "Bern",
        "temp_c": 18,
    }
    with pytest.raises(BadRequestError, match="city"):
        await tool.execute({})


async def test_workflows(mastra_client):
    workflow = mastra_client.get_workflow("payment")
    assert (await workflow.details())["name"] == "payment"
    run = await workflow.create_run()
    result = await run.start(4)
    assert result["status"] == "suspended" and result["suspended"] == [["review"]]
    done = await run.resume("review", {"ok": True})
    assert done["result"] == {"amount": 8, "approved": True}
    streamed = await workflow.create_run("streamed")
    kinds = [c["type"] async for c in streamed.stream(1)]
    assert kinds[0] == "workflow-start" and kinds[-1] == "workflow-finish"
    finish = [c async for c in streamed.resume_stream("review", {"ok": False})][-1]
    assert finish["payload"]["workflowStatus"] == "success"
    assert (await workflow.run_by_id(run.run_id))["status"] == "success"
    assert {r["runId"] for r in (await workflow.runs())["runs"]} == {run.run_id, "streamed"}


async def test_memory_threads_and_vectors(mastra_client):
    made = await mastra_client.create_memory_thread(
        "u1", thread_id="t1", title="A", agent_id="weather"
    )
    assert made["id"] == "t1"
    thread = mastra_client.get_memory_thread("t1", agent_id="weather")
    assert (await thread.update(title="B"))["title"] == "B"
    await mastra_client.save_messages(
        [{"role": "user", "content": "hi", "threadId": "t1", "id": "m1"}], agent_id="weather"
    )
    assert [m["id"] for m in await thread.messages()] == ["m1"]
    assert [t["id"] for t in await mastra_client.list_memory_threads("u1", agent_id="weather")] == [
        "t1"
    ]
    assert (await thread.delete()) == {"result": "Thread deleted"}
    vectors = mastra_client.get_vector("docs")
    await vectors.create_index("kb", 2)
    assert await vectors.upsert("kb", [[1, 0], [0, 1]], ids=["x", "y"]) == ["x", "y"]
    hits = await vectors.query("kb", [0.9, 0.1], top_k=1)
    assert [h["id"] for h in hits] == ["x"]
    assert await vectors.indexes() == ["kb"]
    assert (await vectors.details("kb"))["count"] == 2
    await vectors.delete("kb")
    assert await mastra_client.list_scores() == []


async def test_a_wrong_key_is_an_authentication_error_and_not_retried(client):
    api = await client(auth=ApiKeyAuth(["sk-test"]))
    retry = RetryPolicy(max_attempts=4, initial_delay=0.01)
    async with MastraClient(str(api.make_url("")), api_key="sk-wrong", retry=retry) as bad:
        with pytest.raises(AuthenticationError, match="not valid"):
            await bad.list_agents()
