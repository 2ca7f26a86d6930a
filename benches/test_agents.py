"""Agent frameworks side by side, one tool attached, no network: (a) instantiation, (b) memory
per instance, (c) one run with one tool call against each framework's in-process model,
(d) streaming overhead per token. Peers: agno (a stub Model subclass) and pydantic-ai
(its FunctionModel)."""

import asyncio
import tracemalloc
from dataclasses import dataclass

import pytest
from agno.agent import Agent as AgnoAgent
from agno.models.base import Model as AgnoModel
from agno.models.response import ModelResponse as AgnoResponse
from pydantic_ai import Agent as PydanticAgent
from pydantic_ai.messages import ModelResponse as PaiResponse
from pydantic_ai.messages import TextPart as PaiText
from pydantic_ai.messages import ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import FunctionModel as PaiFunctionModel

from mastra.agent import Agent, TextDelta
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall, Usage

TOKENS = 500
WORDS = [f"w{i}" for i in range(TOKENS)]


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# -- mastra ------------------------------------------------------------------------------


def mastra_brain(request):
    if request.messages[-1].role == "tool":
        return "The sum is 3."
    return ModelResponse(
        message=Message.assistant(None, [ToolCall("c1", "add", {"a": 1, "b": 2})]),
        usage=Usage(5, 5, 0, 10),
        finish_reason="tool_calls",
    )


MASTRA_MODEL = FunctionModel(mastra_brain)
MASTRA_STREAM_MODEL = FunctionModel(lambda request: " ".join(WORDS))


def mastra_agent():
    return Agent("bench", "You add.", MASTRA_MODEL, tools=[add])


async def mastra_run(agent):
    result = await agent.generate("1+2?")
    assert result.text == "The sum is 3."


async def mastra_stream(agent):
    count = 0
    async for event in agent.stream("count"):
        if isinstance(event, TextDelta):
            count += 1
    assert count == TOKENS


# -- pydantic-ai -------------------------------------------------------------------------


def pai_brain(messages, info):
    last = messages[-1].parts[-1]
    if isinstance(last, ToolReturnPart):
        return PaiResponse(parts=[PaiText("The sum is 3.")])
    return PaiResponse(parts=[ToolCallPart("add", {"a": 1, "b": 2}, tool_call_id="c1")])


async def pai_stream_fn(messages, info):
    for word in WORDS:
        yield word + " "


PAI_MODEL = PaiFunctionModel(pai_brain, stream_function=pai_stream_fn)


def pai_agent():
    return PydanticAgent(PAI_MODEL, instructions="You add.", tools=[add])


async def pai_run(agent):
    result = await agent.run("1+2?")
    assert result.output == "The sum is 3."


async def pai_stream(agent):
    count = 0
    async with agent.run_stream("count") as run:
        async for _ in run.stream_text(delta=True, debounce_by=None):
            count += 1
    assert count == TOKENS


# -- agno --------------------------------------------------------------------------------


@dataclass
class StubModel(AgnoModel):
    """An in-process agno model: asks for `add` once, then answers."""

    id: str = "stub"
    name: str = "stub"
    provider: str = "stub"

    def _answer(self, messages):
        if messages and messages[-1].role == "tool":
            return AgnoResponse(role="assistant", content="The sum is 3.")
        return AgnoResponse(
            role="assistant",
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
                }
            ],
        )

    def invoke(self, messages=None, **kwargs):
        return self._answer(messages)

    async def ainvoke(self, messages=None, **kwargs):
        return self._answer(messages)

    def invoke_stream(self, messages=None, **kwargs):
        yield self._answer(messages)

    async def ainvoke_stream(self, messages=None, **kwargs):
        yield self._answer(messages)

    def _parse_provider_response(self, response, **kwargs):
        return response

    def _parse_provider_response_delta(self, response):
        return response


AGNO_MODEL = StubModel()


def agno_agent():
    return AgnoAgent(model=AGNO_MODEL, instructions="You add.", tools=[add], telemetry=False)


async def agno_run(agent):
    result = await agent.arun("1+2?")
    assert result.content == "The sum is 3."


FRAMEWORKS = {
    "mastra": (mastra_agent, mastra_run),
    "agno": (agno_agent, agno_run),
    "pydantic-ai": (pai_agent, pai_run),
}


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_instantiate(benchmark, name):
    make, _ = FRAMEWORKS[name]
    make()
    benchmark.group = "(a) agent instantiation, one tool"
    benchmark(make)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    agents = [make() for _ in range(1000)]
    benchmark.extra_info["KiB per instance"] = round(
        (tracemalloc.get_traced_memory()[0] - before) / len(agents) / 1024, 2
    )
    tracemalloc.stop()


@pytest.mark.parametrize("name", list(FRAMEWORKS))
def test_run_with_one_tool_call(benchmark, name):
    make, run = FRAMEWORKS[name]
    agent = make()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(agent))
    benchmark.group = "(c) one run: model -> tool -> model"
    benchmark(lambda: loop.run_until_complete(run(agent)))
    loop.close()


@pytest.mark.parametrize(
    ("name", "make", "stream"),
    [
        ("mastra", lambda: Agent("s", "", MASTRA_STREAM_MODEL), mastra_stream),
        ("pydantic-ai", lambda: PydanticAgent(PAI_MODEL), pai_stream),
    ],
)
def test_stream_overhead_per_token(benchmark, name, make, stream):
    agent = make()
    loop = asyncio.new_event_loop()
    loop.run_until_complete(stream(agent))
    benchmark.group = f"(d) streaming {TOKENS} tokens"
    benchmark(lambda: loop.run_until_complete(stream(agent)))
    benchmark.extra_info["us per token"] = round(benchmark.stats.stats.median / TOKENS * 1e6, 2)
    loop.close()


SYNC_CASES = {
    "mastra await generate": lambda agent, loop: loop.run_until_complete(mastra_run(agent)),
    "mastra generate_sync": lambda agent, loop: agent.generate_sync("1+2?"),
    "agno run (sync)": lambda agent, loop: agent.run("1+2?"),
}


@pytest.mark.parametrize("name", list(SYNC_CASES))
def test_sync_entry_point(benchmark, name):
    """(e) the same run through the sync twin and through the async path on a running
    program's loop; agno's sync run beside them."""
    agent = agno_agent() if name.startswith("agno") else mastra_agent()
    call = SYNC_CASES[name]
    loop = asyncio.new_event_loop()
    call(agent, loop)
    benchmark.group = "(e) one run with one tool call: sync twin vs async path"
    benchmark(call, agent, loop)
    loop.close()
