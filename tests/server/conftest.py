"""A registry with a tool-calling agent, a workflow that suspends, memory and a vector store,
served over real HTTP on 127.0.0.1; and the two stream parsers Mastra's JS client uses."""

import asyncio

import msgspec
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from mastra import Agent, Mastra, tool
from mastra.llm import ModelRequest, ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, WorkingMemory
from mastra.messages import Message, ToolCall
from mastra.server import create_app
from mastra.storage import InMemoryStorage
from mastra.vector import InMemoryVector
from mastra.workflows import StepContext, Workflow, step


@tool
def get_weather(city: str) -> dict:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    if city == "Atlantis":
        raise ValueError("no weather under the sea")
    return {"city": city, "temp_c": 18}


def weather_script(request: ModelRequest) -> ModelResponse | str:
    """Asks for the weather of the city named last in the prompt, then answers from it."""
    last = request.messages[-1]
    if last.role == "tool":
        result = last.tool_results[0]
        if result.is_error:
            return f"Sorry: {result.content}"
        return f"It is {result.content['temp_c']} C in {result.content['city']}."
    city = last.text.split()[-1].strip("?")
    call = ToolCall("call_1", "get_weather", {"city": city})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


class Approval(msgspec.Struct):
    ok: bool


@step(resume=Approval)
async def review(ctx: StepContext, amount: int) -> dict:
    if ctx.resume_data is None:
        await ctx.suspend({"question": f"approve {amount}?"})
    return {"amount": amount, "approved": ctx.resume_data.ok}


@step
def double(ctx: StepContext, amount: int) -> int:
    return amount * 2


def make_mastra(storage=None, config=None):
    storage = storage or InMemoryStorage()
    memory = Memory(options=MemoryOptions(working_memory=WorkingMemory(template="# Notes\n")))
    weather = Agent(
        "weather",
        "Answer about the weather.",
        FunctionModel(weather_script),
        tools=[get_weather],
        memory=memory,
        description="knows the weather",
    )
    echo = Agent("echo", "Repeat.", FunctionModel(lambda r: f"echo: {r.messages[-1].text}"))
    payment = Workflow("payment", input=int).then(double).then(review).commit()
    return Mastra(
        agents=[weather, echo],
        workflows=[payment],
        storage=storage,
        vectors={"docs": InMemoryVector()},
        config=config,
    )


@pytest.fixture
async def client():
    """A TestClient on a server for make_mastra(); factory(**create_app options)."""
    clients = []

    async def start(mastra=None, **options):
        app = create_app(mastra or make_mastra(), **options)
        made = TestClient(TestServer(app, host="127.0.0.1"))
        await made.start_server()
        clients.append(made)
        return made

    yield start
    for made in clients:
        await made.close()


def client_js_sse(text: str) -> list[dict]:
    """``processMastraStream`` of @mastra/client-js: split on blank lines, keep frames that
    start with ``data: ``, stop at ``[DONE]``, JSON-parse the rest."""
    chunks = []
    for frame in text.split("\n\n"):
        if frame.startswith("data: "):
            data = frame[6:]
            if data == "[DONE]":
                return chunks
            chunks.append(orjson.loads(data))
    raise AssertionError("the stream did not end with data: [DONE]")


def client_js_records(raw: bytes) -> list[dict]:
    """The workflow ``Run`` stream parser of @mastra/client-js: split on the record separator
    and JSON-parse each non-empty piece."""
    return [orjson.loads(piece) for piece in raw.decode().split("\x1e") if piece.strip()]


async def wait_for(predicate, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)
