"""Cancelling a run: an abort signal or task cancellation stops the model stream, reaches
running tools (async and sync, cooperatively) and sub-agents, and leaves memory consistent."""

import asyncio
import threading
import time

import pytest

from mastra.agent import AbortSignal, Agent, AgentFinish, TextDelta
from mastra.llm import LanguageModel, ModelResponse, StreamAssembler
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory
from mastra.messages import Message, ToolCall
from mastra.storage import InMemoryStorage
from mastra.tools import ToolContext, tool
from mastra.vector import InMemoryVector


class SlowModel(LanguageModel):
    """Streams ``words`` with a pause before each; remembers whether its stream was closed."""

    provider, model = "test", "slow"

    def __init__(self, words, delay=0.05):
        self.words, self.delay = words, delay
        self.closed = self.sent = 0

    async def generate(self, request):
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    async def stream(self, request):
        assembler = StreamAssembler()
        try:
            for word in self.words:
                await asyncio.sleep(self.delay)
                self.sent += 1
                yield assembler.text_delta(word)
            for event in assembler.finish("stop"):
                yield event
        finally:
            self.closed += 1


def calling(name, then="done"):
    def answer(request):
        if request.messages[-1].role == "tool":
            return then
        return ModelResponse(
            message=Message.assistant(None, [ToolCall("c1", name, {})]), finish_reason="tool_calls"
        )

    return FunctionModel(answer)


def memory():
    return Memory(InMemoryStorage(), InMemoryVector())


async def test_abort_between_events_stops_the_stream_and_saves_nothing():
    model = SlowModel(["a ", "b ", "c ", "d "])
    mem = memory()
    agent = Agent("a", model=model, memory=mem)
    signal = AbortSignal()
    events = []
    async for event in agent.stream("go", thread_id="t", resource_id="u", abort_signal=signal):
        events.append(event)
        if isinstance(event, TextDelta) and event.text == "b ":
            signal.abort("user left")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a ", "b "]
    result = events[-1].result
    assert isinstance(events[-1], AgentFinish) and result.finish_reason == "aborted"
    assert model.closed == 1 and model.sent == 2
    assert await mem.storage.get_thread("t") is None
    assert not signal.aborted or signal.reason == "user left"


async def test_abort_while_the_model_streams_cancels_it_at_once():
    model = SlowModel(["a ", "b "], delay=5)
    signal = AbortSignal()
    asyncio.get_running_loop().call_later(0.05, signal.abort)
    started = time.monotonic()
    events = [e async for e in Agent("a", model=model).stream("go", abort_signal=signal)]
    assert [type(e).__name__ for e in events] == ["AgentFinish"]
    assert events[-1].result.finish_reason == "aborted" and time.monotonic() - started < 1
    assert model.closed == 1 and model.sent == 0
    signal = AbortSignal()
    asyncio.get_running_loop().call_later(0.05, signal.abort)
    result = await Agent("a", model=model).generate("go", abort_signal=signal)  # model.generate
    assert result.finish_reason == "aborted" and time.monotonic() - started < 1


async def test_abort_reaches_async_and_sync_tools():
    seen = {}

    @tool
    async def waits(ctx: ToolContext) -> str:
        seen["async"] = await ctx.wait_cancelled()
        return "stopped"

    @tool
    def polls(ctx: ToolContext) -> str:
        deadline = time.monotonic() + 5
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        seen["sync"] = ctx.cancelled
        return "stopped"

    def answer(request):
        if request.messages[-1].role == "tool":
            return "done"
        calls = [ToolCall("c1", "waits", {}), ToolCall("c2", "polls", {})]
        return ModelResponse(message=Message.assistant(None, calls), finish_reason="tool_calls")

    signal = AbortSignal()
    asyncio.get_running_loop().call_later(0.05, signal.abort, "enough")
    agent = Agent("a", model=FunctionModel(answer), tools=[waits, polls])
    started = time.monotonic()
    result = await agent.generate("go", abort_signal=signal)
    assert result.finish_reason == "aborted" and time.monotonic() - started < 1
    assert result.steps == []  # the step with the tools never finished
    await asyncio.sleep(0.05)  # the sync tool's thread notices and returns
    assert seen == {"async": "enough", "sync": True}


async def test_task_cancellation_reaches_sync_tools_and_saves_nothing():
    flag = threading.Event()

    @tool
    def polls(ctx: ToolContext) -> str:
        deadline = time.monotonic() + 5
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        flag.set()
        return "stopped"

    mem = memory()
    agent = Agent("a", model=calling("polls"), tools=[polls], memory=mem)
    task = asyncio.create_task(agent.generate("go", thread_id="t", resource_id="u"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(flag.wait, 2)
    assert await mem.storage.get_thread("t") is None
    # the thread is as if the run never happened: the next one sees no dangling tool call
    agent = Agent("a", model=FunctionModel(lambda r: f"{len(r.messages)} messages"), memory=mem)
    assert (await agent.generate("hello", thread_id="t", resource_id="u")).text == "1 messages"


async def test_abort_reaches_sub_agents():
    seen = {}

    @tool
    async def dig(ctx: ToolContext) -> str:
        seen["sub"] = await ctx.wait_cancelled()
        return "never"

    worker = Agent("worker", model=calling("dig"), tools=[dig])
    boss_model = FunctionModel(
        lambda r: ModelResponse(
            message=Message.assistant(None, [ToolCall("d1", "worker", {"prompt": "dig"})]),
            finish_reason="tool_calls",
        )
    )
    boss = Agent("boss", model=boss_model, agents=[worker])
    signal = AbortSignal()
    asyncio.get_running_loop().call_later(0.05, signal.abort, "stop all")
    result = await boss.generate("go", abort_signal=signal)
    assert result.finish_reason == "aborted"
    assert seen == {"sub": "stop all"}


class SlowSaves(InMemoryStorage):
    async def save_messages(self, messages):
        await asyncio.sleep(0.1)
        await super().save_messages(messages)


async def test_a_cancel_during_the_save_still_saves_the_whole_turn():
    mem = Memory(SlowSaves(), InMemoryVector())
    agent = Agent("a", model=FunctionModel(lambda r: "answer"), memory=mem)
    task = asyncio.create_task(agent.generate("question", thread_id="t", resource_id="u"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.15)
    saved = await mem.storage.list_messages("t")
    assert [m.to_message().text for m in saved] == ["question", "answer"]


async def test_an_abort_after_the_run_does_nothing_and_signals_are_released():
    signal = AbortSignal()
    agent = Agent("a", model=FunctionModel(lambda r: "hi"))
    for _ in range(3):
        assert (await agent.generate("x", abort_signal=signal)).text == "hi"
    assert signal._callbacks == []
    signal.abort()
    result = await agent.generate("x", abort_signal=signal)
    assert result.finish_reason == "aborted"
