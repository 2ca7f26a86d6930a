"""What memory adds to one agent call: history (10), semantic recall over 100k stored messages
(local HashingEmbedder, int8 index) and working memory, on SQLite — beside the same agent
without memory. The model is an instant FunctionModel, so the difference is memory's."""

import asyncio
import random

import pytest

from mastra.agent import Agent
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, SemanticRecall, WorkingMemory
from mastra.messages import Message
from mastra.storage import SQLiteStorage
from mastra.vector.sqlite import SQLiteVector

STORED = 100_000
WORDS = [
    "cat",
    "dog",
    "tea",
    "bread",
    "trip",
    "paris",
    "oslo",
    "invoice",
    "refund",
    "order",
    "shoe",
    "size",
    "blue",
    "green",
    "music",
    "piano",
    "guitar",
    "python",
    "rust",
    "deadline",
    "meeting",
    "lunch",
    "coffee",
    "book",
    "novel",
    "garden",
    "rose",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    runner = asyncio.Runner()
    path = tmp_path_factory.mktemp("mem") / "memory.db"
    memory = Memory(
        SQLiteStorage(path),
        SQLiteVector(path),
        options=MemoryOptions(
            last_messages=10,
            semantic_recall=SemanticRecall(top_k=3, message_range=1),
            working_memory=WorkingMemory(),
        ),
    )
    rng = random.Random(0)
    for thread in range(100):
        texts = [" ".join(rng.choices(WORDS, k=12)) for _ in range(STORED // 100)]
        messages = [
            Message.user(t) if i % 2 == 0 else Message.assistant(t) for i, t in enumerate(texts)
        ]
        runner.run(memory.save_messages(f"t{thread}", messages, resource_id="ada"))
    model = FunctionModel(lambda request: "ok")
    with_memory = Agent("a", "Be brief.", model, memory=memory)
    without = Agent("a", "Be brief.", model)
    yield runner, with_memory, without
    runner.run(memory.storage.close())
    runner.close()


@pytest.mark.parametrize("case", ["without memory", "with memory (100k stored)"])
def test_agent_call(benchmark, setup, case):
    runner, with_memory, without = setup
    counter = iter(range(10**9))
    if case == "without memory":

        def call():
            return runner.run(without.generate("What did I say about tea and paris?"))
    else:

        def call():
            # a fresh thread each time keeps the stored total at ~100k
            return runner.run(
                with_memory.generate(
                    "What did I say about tea and paris?",
                    thread_id=f"bench{next(counter)}",
                    resource_id="ada",
                )
            )

    call()
    benchmark.group = "one agent call, memory on and off"
    benchmark.pedantic(call, rounds=50, warmup_rounds=2)
