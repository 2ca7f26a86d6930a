from datetime import timedelta

import msgspec
import numpy as np
import pytest

from mastra.agent import Agent
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.memory import (
    Memory,
    MemoryOptions,
    PrunePolicy,
    SemanticRecall,
    TokenLimiter,
    ToolCallFilter,
    WorkingMemory,
)
from mastra.messages import Message, ToolCall, ToolResult
from mastra.rag import CachedEmbedder, HashingEmbedder
from mastra.storage import InMemoryStorage, PostgresStorage, SQLiteStorage, StoredMessage
from mastra.vector import InMemoryVector
from mastra.vector.pgvector import PgVector
from mastra.vector.sqlite import SQLiteVector


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def backends(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStorage(), InMemoryVector()
        return
    if request.param == "sqlite":
        storage, vector = SQLiteStorage(tmp_path / "m.db"), SQLiteVector(tmp_path / "m.db")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        storage, vector = PostgresStorage(dsn), PgVector(dsn)
    yield storage, vector
    await storage.close()
    await vector.close()


def recall_memory(storage, vector, **options):
    return Memory(
        storage,
        vector,
        options=MemoryOptions(
            last_messages=4, semantic_recall=SemanticRecall(top_k=1, message_range=1), **options
        ),
    )


async def test_recall_across_threads_of_a_resource(backends):
    storage, vector = backends
    memory = recall_memory(storage, vector)
    await memory.save_messages(
        "old",
        [
            Message.user("My cat is called Whiskers and she loves tuna."),
            Message.assistant("Whiskers sounds lovely!"),
            Message.user("I also bake sourdough bread every weekend."),
            Message.assistant("Nice hobby."),
        ],
        resource_id="ada",
    )
    await memory.save_messages(
        "other", [Message.user("cat tuna Whiskers")], resource_id="someone-else"
    )
    await memory.save_messages("new", [Message.user("hello again")], resource_id="ada")
    context = await memory.context("new", "ada", [Message.user("What is my cat called?")])
    recalled = context[0].text
    assert context[0].role == "system" and "Relevant messages" in recalled
    assert "Whiskers and she loves tuna" in recalled  # the match
    assert "Whiskers sounds lovely" in recalled  # its neighbour
    assert "sourdough" not in recalled  # irrelevant
    assert context[-1] == Message.user("hello again")  # this thread's history follows
    only_thread = Memory(
        storage,
        vector,
        options=MemoryOptions(semantic_recall=SemanticRecall(top_k=1, scope="thread")),
    )
    in_thread = await only_thread.recall("new", "ada", "cat Whiskers")
    assert in_thread and all(m.thread_id == "new" for m in in_thread)


async def test_history_keeps_tool_pairs_whole(backends):
    storage, vector = backends
    memory = Memory(storage, vector, options=MemoryOptions(last_messages=3))
    await memory.save_messages(
        "t",
        [
            Message.user("weather?"),
            Message.assistant(None, [ToolCall("c1", "weather", {"city": "Oslo"})]),
            Message.tool([ToolResult("c1", "weather", {"temp": 3})]),
            Message.assistant("3 degrees."),
        ],
        resource_id="r",
    )
    history = await memory.context("t", "r", [])
    assert [m.role for m in history] == ["assistant", "tool", "assistant"]
    shorter = await memory.history("t", last=2)  # would start at the tool result: dropped
    assert [m.role for m in shorter] == ["assistant"]


async def test_working_memory_survives_a_restart(tmp_path):
    path = tmp_path / "wm.db"
    options = MemoryOptions(working_memory=WorkingMemory(template="# Name:\n"))
    first = Memory(SQLiteStorage(path), SQLiteVector(path), options=options)
    await first.create_thread("ada", thread_id="t1")
    await first.update_working_memory("t1", "ada", "# Name: Ada\n# Likes: tea")
    await first.storage.close()
    second = Memory(SQLiteStorage(path), SQLiteVector(path), options=options)
    assert await second.get_working_memory("t2", "ada") == "# Name: Ada\n# Likes: tea"
    context = await second.context("t2", "ada", [Message.user("hi")])
    assert "# Likes: tea" in context[0].text
    await second.storage.close()


async def test_working_memory_with_a_schema_and_thread_scope():
    class Profile(msgspec.Struct):
        name: str
        city: str | None = None

    memory = Memory(
        InMemoryStorage(),
        InMemoryVector(),
        options=MemoryOptions(working_memory=WorkingMemory(schema=Profile, scope="thread")),
    )
    await memory.create_thread("r", thread_id="t")
    [update] = memory.tools("t", "r")
    assert update.parameters["required"] == ["name"]
    outcome = await update.run(ToolCall("c", "update_working_memory", {"name": "Ada"}))
    assert outcome.result.content == "working memory updated"
    assert await memory.get_working_memory("t", "r") == '{"name":"Ada","city":null}'
    bad = await update.run(ToolCall("c", "update_working_memory", {"city": "Oslo"}))
    assert bad.result.is_error and "name" in bad.result.content


async def test_prune_by_importance_and_age(backends):
    storage, vector = backends
    memory = recall_memory(storage, vector)
    stored = await memory.save_messages(
        "t", [Message.user(f"note {i}") for i in range(10)], resource_id="r"
    )
    # make the first five old and the third very important
    aged = [
        msgspec.structs.replace(
            m, created_at=m.created_at - timedelta(days=365), importance=1.0 if i == 2 else 0.5
        )
        for i, m in enumerate(stored[:5])
    ]
    await storage.save_messages(aged)
    removed = await memory.prune(PrunePolicy(max_messages=6, keep_last=3), thread_id="t")
    assert removed == 4
    left = [m.to_message().text for m in await storage.list_messages("t", limit=100)]
    assert left == ["note 2", "note 5", "note 6", "note 7", "note 8", "note 9"]
    assert await memory.prune(PrunePolicy(max_messages=6), thread_id="t") == 0


def test_processors_keep_pairs():
    call = Message.assistant(None, [ToolCall("c", "search", {"q": "x" * 400})])
    result = Message.tool([ToolResult("c", "search", "y" * 400)])
    messages = [Message.user("a" * 400), call, result, Message.user("short")]
    for budget in range(0, 800, 7):
        limited = TokenLimiter(max_tokens=budget)(messages)
        assert (call in limited) == (result in limited)  # a unit is kept or dropped whole
        assert limited == messages[len(messages) - len(limited) :]  # always the newest
    limited = TokenLimiter(max_tokens=300)(messages)
    assert limited[-1] == Message.user("short") and call in limited
    assert TokenLimiter(max_tokens=20)(messages) == [Message.user("short")]
    filtered = ToolCallFilter()(messages)
    assert filtered == [Message.user("a" * 400), Message.user("short")]


async def test_hashing_and_cached_embedders():
    embedder = HashingEmbedder(dimension=128)
    rows = await embedder.embed(["the cat sat", "the cat sat", "quantum chromodynamics", ""])
    assert rows.dtype == np.float32 and rows.shape == (4, 128)
    np.testing.assert_allclose(np.linalg.norm(rows[:3], axis=1), 1, rtol=1e-5)
    assert (rows[0] == rows[1]).all() and not rows[3].any()
    similar = float(rows[0] @ (await embedder.embed(["the cats sat down"]))[0])
    assert similar > float(rows[0] @ rows[2]) + 0.3

    calls = []

    class Counting:
        dimension = 128

        async def embed(self, texts):
            calls.append(list(texts))
            return await embedder.embed(texts)

    cached = CachedEmbedder(Counting(), maxsize=10)
    first = await cached.embed(["a", "b", "a"])
    second = await cached.embed(["b", "c"])
    assert calls == [["a", "b"], ["c"]]
    np.testing.assert_array_equal(first[1], second[0])


async def test_agent_remembers_across_runs(backends):
    storage, vector = backends
    seen = []

    def brain(request):
        seen.append(request)
        last = request.messages[-1]
        if last.role == "user" and "remember" in last.text:
            return ModelResponse(
                message=Message.assistant(
                    None, [ToolCall("w1", "update_working_memory", {"memory": "Name: Ada"})]
                ),
                finish_reason="tool_calls",
            )
        return "noted" if last.role == "tool" else "Your name is Ada."

    memory = Memory(
        storage, vector, options=MemoryOptions(last_messages=10, working_memory=WorkingMemory())
    )
    agent = Agent("assistant", "Be brief.", FunctionModel(brain), memory=memory)
    await agent.generate("Please remember my name is Ada", thread_id="t1", resource_id="ada")
    await agent.generate("What is my name?", thread_id="t1", resource_id="ada")
    second = seen[-1].messages
    assert "Name: Ada" in second[1].text  # working memory in the system prompt
    assert [m.role for m in second[2:]] == ["user", "assistant", "tool", "assistant", "user"]
    assert second[2].text == "Please remember my name is Ada"
    stored = await storage.list_messages("t1", limit=100)
    assert len(stored) == 6 and isinstance(stored[0], StoredMessage)
