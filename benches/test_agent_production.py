"""Production agents beside the plain agent, in the same run: what each built-in processor
adds to a run on a short prompt, PII detection on a 4 KB message, an approval round trip
through SQLite, a supervisor with one delegation, a FallbackModel in front of one model, and
memory's reads with an embedder that has latency.

    python -m pytest benches/test_agent_production.py --benchmark-only \
        --benchmark-columns=median,ops,rounds
"""

import asyncio

import pytest

from mastra.agent import Agent
from mastra.llm import FallbackModel, ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, SemanticRecall, WorkingMemory
from mastra.messages import Message, ToolCall
from mastra.processors import (
    ModerationProcessor,
    PIIDetector,
    PromptInjectionDetector,
    TokenLimiter,
    UnicodeNormalizer,
    detect_pii,
)
from mastra.rag import HashingEmbedder
from mastra.storage import SQLiteStorage
from mastra.tools import tool
from mastra.vector.sqlite import SQLiteVector

PROMPT = "What is the weather like in Paris tomorrow?"
ANSWER = FunctionModel(lambda request: "Sunny, 21 degrees.")
JUDGE = FunctionModel(lambda request: '{"scores": {"hate": 0.0, "violence": 0.0}, "reason": "ok"}')

PROCESSORS = {
    "plain agent": ([], []),
    "UnicodeNormalizer": ([UnicodeNormalizer()], []),
    "PIIDetector (in+out)": ([PIIDetector()], [PIIDetector()]),
    "PromptInjectionDetector": ([PromptInjectionDetector()], []),
    "TokenLimiter": ([TokenLimiter(4000)], []),
    "ModerationProcessor (instant judge)": ([ModerationProcessor(JUDGE)], []),
}


@pytest.fixture(scope="module")
def loop():
    runner = asyncio.Runner()
    yield runner
    runner.close()


@pytest.mark.parametrize("name", list(PROCESSORS))
def test_processor_overhead(benchmark, loop, name):
    inputs, outputs = PROCESSORS[name]
    agent = Agent("bench", "Be brief.", ANSWER, input_processors=inputs, output_processors=outputs)

    async def run():
        result = await agent.generate(PROMPT)
        assert result.text == "Sunny, 21 degrees."

    loop.run(run())
    benchmark.group = "processors: one run, short prompt"
    benchmark(lambda: loop.run(run()))


def pii_message():
    """~4 KB of support-chat text with an email, a phone number, a card and an IBAN."""
    filler = (
        "Thanks for getting back to me about the order; the parcel arrived late and the box "
        "was damaged, so I would like to ask for a replacement or a refund if possible. "
    )
    pii = (
        "You can reach me at jane.doe@example.com or +1 (555) 123-4567. The card was "
        "4111 1111 1111 1111 and my IBAN is DE89 3704 0044 0532 0130 00. "
    )
    text = (filler * 13)[:1900] + pii + (filler * 13)[:1900]
    assert 3900 < len(text.encode()) < 4300
    return text


def test_pii_detection_4kb(benchmark):
    text = pii_message()
    assert [m.kind for m in detect_pii(text)] == ["email", "phone", "credit_card", "iban"]
    benchmark.group = "PII detection, 4 KB message"
    benchmark(detect_pii, text)


@tool(requires_approval=True)
def refund(order: int) -> str:
    """Refund an order."""
    return f"refunded {order}"


@tool
def refund_now(order: int) -> str:
    """Refund an order (no approval)."""
    return f"refunded {order}"


def refunding(name):
    def answer(request):
        if request.messages[-1].role == "tool":
            return "done"
        call = ToolCall("c1", name, {"order": 7})
        return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")

    return FunctionModel(answer)


def test_plain_run_with_one_tool(benchmark, loop):
    agent = Agent("plain", model=refunding("refund_now"), tools=[refund_now])

    async def run():
        assert (await agent.generate("refund 7")).text == "done"

    loop.run(run())
    benchmark.group = "approval: model -> tool -> model"
    benchmark(lambda: loop.run(run()))


def test_approval_round_trip_sqlite(benchmark, loop, tmp_path):
    storage = SQLiteStorage(tmp_path / "runs.db")
    agent = Agent("ops", model=refunding("refund"), tools=[refund], storage=storage)

    async def run():
        suspended = await agent.generate("refund 7")
        done = await agent.approve(suspended.run_id, "c1")
        assert done.text == "done"

    loop.run(run())
    benchmark.group = "approval: model -> tool -> model"
    benchmark(lambda: loop.run(run()))
    loop.run(storage.close())


def delegating(request):
    if request.messages[-1].role == "tool":
        return "done"
    call = ToolCall("d1", "helper", {"prompt": "help"})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


@pytest.mark.parametrize(
    "kind", ["single agent run", "one tool call", "supervisor, one delegation"]
)
def test_supervisor(benchmark, loop, kind):
    helper = Agent("helper", model=FunctionModel(lambda r: "helped"))
    if kind == "single agent run":
        agent = helper
    elif kind == "one tool call":
        agent = Agent("boss", model=FunctionModel(delegating), tools=[helper.as_tool()])
    else:
        agent = Agent("boss", model=FunctionModel(delegating), agents=[helper])

    async def run():
        assert (await agent.generate("go")).text in ("done", "helped")

    loop.run(run())
    benchmark.group = "networks"
    benchmark(lambda: loop.run(run()))


@pytest.mark.parametrize("wrapped", [False, True])
def test_fallback_model_overhead(benchmark, loop, wrapped):
    agent = Agent("a", model=FallbackModel([ANSWER]) if wrapped else ANSWER)
    loop.run(agent.generate(PROMPT))
    benchmark.group = "FallbackModel in front of one model"
    benchmark(lambda: loop.run(agent.generate(PROMPT)))


class RemoteEmbedder:
    """An embedding API 5 ms away."""

    def __init__(self):
        self.inner = HashingEmbedder()
        self.dimension = self.inner.dimension

    async def embed(self, texts):
        await asyncio.sleep(0.005)
        return await self.inner.embed(texts)


def test_memory_reads_with_a_remote_embedder(benchmark, loop, tmp_path):
    path = tmp_path / "memory.db"
    memory = Memory(
        SQLiteStorage(path),
        SQLiteVector(path),
        RemoteEmbedder(),
        options=MemoryOptions(
            last_messages=10,
            semantic_recall=SemanticRecall(top_k=3, message_range=1),
            working_memory=WorkingMemory(),
        ),
    )
    topics = ["cats", "tea", "trains", "paris", "piano", "rust", "gardens", "novels"]
    for i in range(50):
        words = f"I like {topics[i % 8]} and {topics[(i * 3) % 8]} number {i}"
        loop.run(memory.save_messages(f"t{i % 5}", [Message.user(words)], resource_id="ada"))
    question = [Message.user("what about cats and tea?")]
    loop.run(memory.context("t0", "ada", question))
    benchmark.group = "memory reads, 5 ms embedder"
    benchmark(lambda: loop.run(memory.context("t0", "ada", question)))
