"""Memory, tools and vector routes, with the bodies @mastra/client-js sends."""

from tests.server.conftest import wait_for  # noqa: F401


async def test_threads_lifecycle_through_an_agents_memory(client):
    api = await client()
    made = await api.post(
        "/api/memory/threads?agentId=weather",
        json={
            "resourceId": "u1",
            "title": "Trip",
            "metadata": {"k": 1},
            "threadId": "t-9",
            "agentId": "weather",
        },
    )
    thread = await made.json()
    assert thread["id"] == "t-9" and thread["resourceId"] == "u1" and thread["title"] == "Trip"
    assert thread["createdAt"].endswith("Z")
    listed = await (await api.get("/api/memory/threads?resourceId=u1&agentId=weather")).json()
    assert [t["id"] for t in listed["threads"]] == ["t-9"]
    assert listed["hasMore"] is False and listed["page"] == 0 and listed["perPage"] == 100
    patched = await api.patch(
        "/api/memory/threads/t-9?agentId=weather",
        json={"title": "Trip to Oslo", "resourceId": "u1"},
    )
    assert (await patched.json())["title"] == "Trip to Oslo"
    saved = await api.post(
        "/api/memory/save-messages?agentId=weather",
        json={
            "agentId": "weather",
            "messages": [
                {"id": "m1", "role": "user", "content": "hello", "threadId": "t-9"},
                {
                    "id": "m2",
                    "role": "assistant",
                    "threadId": "t-9",
                    "content": {"format": 2, "parts": [{"type": "text", "text": "hi!"}]},
                },
            ],
        },
    )
    assert [m["id"] for m in (await saved.json())["messages"]] == ["m1", "m2"]
    listed = await (await api.get("/api/memory/threads/t-9/messages?agentId=weather")).json()
    assert [(m["role"], m["content"]["content"]) for m in listed["messages"]] == [
        ("user", "hello"),
        ("assistant", "hi!"),
    ]
    assert listed["messages"][1]["content"]["parts"] == [{"type": "text", "text": "hi!"}]
    gone = await api.post(
        "/api/memory/messages/delete?agentId=weather", json={"messageIds": ["m1"]}
    )
    assert (await gone.json())["success"] is True
    deleted = await api.delete("/api/memory/threads/t-9?agentId=weather")
    assert await deleted.json() == {"result": "Thread deleted"}
    assert (await api.get("/api/memory/threads/t-9?agentId=weather")).status == 404


async def test_working_memory_and_status(client):
    api = await client()
    await api.post(
        "/api/memory/threads?agentId=weather", json={"resourceId": "u2", "threadId": "w1"}
    )
    answer = await (
        await api.get("/api/memory/threads/w1/working-memory?agentId=weather&resourceId=u2")
    ).json()
    assert answer["workingMemory"] is None and answer["threadExists"] is True
    assert answer["workingMemoryTemplate"] == {"format": "markdown", "content": "# Notes\n"}
    await api.post(
        "/api/memory/threads/w1/working-memory?agentId=weather",
        json={"workingMemory": "# Notes\n- likes tea", "resourceId": "u2"},
    )
    answer = await (
        await api.get("/api/memory/threads/w1/working-memory?agentId=weather&resourceId=u2")
    ).json()
    assert answer["workingMemory"] == "# Notes\n- likes tea"
    assert await (await api.get("/api/memory/status?agentId=weather")).json() == {"result": True}
    assert await (await api.get("/api/memory/status?agentId=echo")).json() == {"result": False}


async def test_memory_bad_input(client):
    api = await client()
    no_resource = await api.get("/api/memory/threads")
    assert no_resource.status == 400 and "resourceId is required" in await no_resource.text()
    missing = await api.post("/api/memory/threads", json={"title": "x"})
    assert missing.status == 400 and "`resourceId`" in await missing.text()
    orphan = await api.post(
        "/api/memory/save-messages",
        json={"messages": [{"role": "user", "content": "x", "threadId": "nope"}]},
    )
    assert orphan.status == 404
    page = await api.get("/api/memory/threads?resourceId=u&perPage=0")
    assert page.status == 400 and "perPage must be an integer from 1" in await page.text()
    no_memory = await api.post("/api/memory/threads?agentId=echo", json={"resourceId": "u"})
    assert no_memory.status == 400 and "has no memory" in await no_memory.text()


async def test_tools_list_and_execute(client):
    api = await client()
    listed = await (await api.get("/api/tools")).json()
    assert list(listed) == ["get_weather"]  # the agents' tools, by id
    result = await api.post(
        "/api/tools/get_weather/execute?runId=", json={"data": {"city": "Lyon"}}
    )
    assert await result.json() == {"city": "Lyon", "temp_c": 18}
    assert (await api.post("/api/tools/nope/execute", json={"data": {}})).status == 404


async def test_vectors(client):
    api = await client()
    base = "/api/vector/docs"
    created = await api.post(
        base + "/create-index", json={"indexName": "kb", "dimension": 3, "metric": "dotproduct"}
    )
    assert await created.json() == {"success": True}
    ids = await (
        await api.post(
            base + "/upsert",
            json={
                "indexName": "kb",
                "vectors": [[1, 0, 0], [0, 1, 0]],
                "metadata": [{"t": "a"}, {"t": "b"}],
                "ids": ["a", "b"],
            },
        )
    ).json()
    assert ids == ["a", "b"]
    hits = await (
        await api.post(
            base + "/query",
            json={"indexName": "kb", "queryVector": [0, 1, 0], "topK": 1, "filter": {"t": "b"}},
        )
    ).json()
    assert [(h["id"], h["metadata"]) for h in hits] == [("b", {"t": "b"})]
    assert await (await api.get(base + "/indexes")).json() == {"indexes": ["kb"]}
    stats = await (await api.get(base + "/indexes/kb")).json()
    assert stats == {"dimension": 3, "count": 2, "metric": "dotproduct"}
    typo = await api.post(
        base + "/query",
        json={"indexName": "kb", "queryVector": [0, 1, 0], "filter": {"t": {"eq": 1}}},
    )
    assert typo.status == 400 and "did you mean $eq" in await typo.text()
    wrong = await api.post(base + "/upsert", json={"indexName": "kb", "vectors": [[1, 2]]})
    assert wrong.status == 400 and "dimension 2" in await wrong.text()
    assert await (await api.delete(base + "/indexes/kb")).json() == {"success": True}
    assert (await api.get(base + "/indexes/kb")).status == 404
    assert (await api.get("/api/vector/nope/indexes")).status == 404
