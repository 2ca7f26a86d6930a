"""Memory in production: read-only memories (and read-only runs) read everything and write
nothing; the independent reads of a turn run concurrently."""

import asyncio
import time

import numpy as np
import pytest

from mastra.agent import Agent
from mastra.errors import ValidationError
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, SemanticRecall, WorkingMemory
from mastra.messages import Message
from mastra.rag import HashingEmbedder
from mastra.storage import InMemoryStorage, SQLiteStorage
from mastra.vector import InMemoryVector
from mastra.vector.sqlite import SQLiteVector

OPTIONS = MemoryOptions(
    last_messages=4,
    semantic_recall=SemanticRecall(top_k=1, message_range=0),
    working_memory=WorkingMemory(template="# User\n- Name: Ada\n"),
)


def recorder():
    seen = []

    def answer(request):
        seen.append(request)
        return "ok"

    return FunctionModel(answer), seen


async def filled(tmp_path):
    storage, vector = SQLiteStorage(tmp_path / "m.db"), SQLiteVector(tmp_path / "m.db")
    writer = Memory(storage, vector, options=OPTIONS)
    await writer.save_messages(
        "old",
        [Message.user("My cat is called Whiskers."), Message.assistant("Lovely.")],
        resource_id="ada",
    )
    await writer.save_messages(
        "t1", [Message.user("hello"), Message.assistant("hi")], resource_id="ada"
    )
    return storage, vector


async def snapshot(storage, vector):
    messages = sum([len(await storage.list_messages(t)) for t in ("old", "t1")], 0)
    return (
        messages,
        (await vector.describe_index("mastra_memory")).count,
        await storage.get_resource("ada"),
    )


@pytest.mark.parametrize("how", ["memory", "per_call"])
async def test_read_only_reads_everything_and_writes_nothing(tmp_path, how):
    storage, vector = await filled(tmp_path)
    before = await snapshot(storage, vector)
    memory = Memory(storage, vector, options=OPTIONS, read_only=how == "memory")
    model, seen = recorder()
    agent = Agent("a", model=model, memory=memory)
    options = {"memory_read_only": True} if how == "per_call" else {}
    result = await agent.generate(
        "What is my cat called?", thread_id="t1", resource_id="ada", **options
    )
    assert result.text == "ok"
    shown = [m.text for m in seen[0].messages]
    assert any("Name: Ada" in t for t in shown)  # working memory
    assert any("Whiskers" in t for t in shown)  # recall
    assert "hello" in shown and "hi" in shown  # history
    assert [t.name for t in seen[0].tools] == []  # no update_working_memory
    assert await snapshot(storage, vector) == before
    await storage.close()
    await vector.close()


async def test_a_read_only_memory_refuses_writes():
    memory = Memory(InMemoryStorage(), InMemoryVector(), options=OPTIONS, read_only=True)
    with pytest.raises(
        ValidationError, match=r"read-only \(read_only=True\); cannot save messages"
    ):
        await memory.save_messages("t", [Message.user("x")], resource_id="u")
    with pytest.raises(ValidationError, match="cannot update working memory"):
        await memory.update_working_memory("t", "u", "x")
    with pytest.raises(ValidationError, match="cannot create a thread"):
        await memory.create_thread("u")
    assert memory.tools("t", "u") == []


class SlowEmbedder:
    """An embedding API with latency."""

    def __init__(self, delay):
        self.inner, self.delay = HashingEmbedder(), delay
        self.dimension = self.inner.dimension

    async def embed(self, texts):
        await asyncio.sleep(self.delay)
        return await self.inner.embed(texts)


class SlowStorage(InMemoryStorage):
    """The in-memory store behind a network round trip of ``delay`` per read (its
    list_messages_around reads through list_messages)."""

    def __init__(self, delay):
        super().__init__()
        self.delay = delay

    async def get_resource(self, resource_id):
        await asyncio.sleep(self.delay)
        return await super().get_resource(resource_id)

    async def list_messages(self, thread_id, **options):
        await asyncio.sleep(self.delay)
        return await super().list_messages(thread_id, **options)


async def test_the_reads_of_a_turn_run_concurrently():
    """Working memory, history and the query's embedding overlap, and the recalled windows
    are read together: ~2 round trips instead of 5 (read one after another, 0.05 s each,
    this took 0.25 s)."""
    delay = 0.05
    storage = SlowStorage(0)
    memory = Memory(
        storage,
        InMemoryVector(),
        SlowEmbedder(0),
        options=MemoryOptions(
            last_messages=2,
            semantic_recall=SemanticRecall(top_k=2, message_range=0),
            working_memory=WorkingMemory(),
        ),
    )
    await memory.save_messages(
        "old",
        [Message.user("cats are great"), Message.user("dogs and cats"), Message.user("x")],
        resource_id="ada",
    )
    storage.delay = memory.embedder.delay = delay
    started = time.perf_counter()
    context = await memory.context("new", "ada", [Message.user("tell me about cats")])
    elapsed = time.perf_counter() - started
    assert "cats are great" in context[1].text and "dogs and cats" in context[1].text
    assert elapsed < 3 * delay, elapsed
    np.testing.assert_equal(len(context), 2)
