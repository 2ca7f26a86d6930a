"""The registry the Studio is tested, measured and photographed against: agents on scripted
models whose streams yield word by word with small delays (one calls a tool, one raises), a
workflow that suspends for approval, one with loops and one whose maps wait or fail, memory
with working memory and two stored threads, a vector store, telemetry kept in storage.
``ServerThread`` serves it on 127.0.0.1 (a free port) from a background thread with its own
event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import msgspec
from aiohttp import web

from mastra import Agent, Mastra, tool
from mastra.llm import ModelRequest, ModelResponse, TextDelta
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory, MemoryOptions, WorkingMemory
from mastra.messages import Message, ToolCall
from mastra.server import create_app
from mastra.storage import InMemoryStorage
from mastra.telemetry import Telemetry
from mastra.vector import InMemoryVector
from mastra.workflows import StepContext, Workflow, step

RESOURCE = "studio"


class SlowStream(FunctionModel):
    """A FunctionModel whose stream waits ``delay`` seconds before each text delta, as a
    provider's tokens arrive over the network."""

    def __init__(self, fn: Any, *, delay: float = 0.03, model: str | None = None) -> None:
        super().__init__(fn, model=model)
        self.delay = delay

    async def stream(self, request: ModelRequest):  # type: ignore[no-untyped-def]
        async for event in super().stream(request):
            if isinstance(event, TextDelta):
                await asyncio.sleep(self.delay)
            yield event


@tool
def get_weather(city: str) -> dict:
    """Current weather for a city.

    Args:
        city: The city name.
    """
    return {"city": city, "temp_c": 18, "sky": "clear"}


def weather_script(request: ModelRequest) -> ModelResponse | str:
    """Asks for the weather of the city named last in the prompt, then answers from it."""
    last = request.messages[-1]
    if last.role == "tool":
        result = last.tool_results[0].content
        return (
            f"It is {result['temp_c']} °C in {result['city']} under {result['sky']} skies, "
            "with a light breeze from the west; a coat is not needed this afternoon."
        )
    city = last.text.split()[-1].strip("?.!")
    call = ToolCall("call_1", "get_weather", {"city": city})
    return ModelResponse(message=Message.assistant(None, [call]), finish_reason="tool_calls")


def explode(request: ModelRequest) -> str:
    raise RuntimeError("the scripted model fell over")


def long_answer(words: int) -> Any:
    def script(request: ModelRequest) -> str:
        return " ".join(f"token{i}" for i in range(words))

    return script


# -- workflows ------------------------------------------------------------------------------


class Order(msgspec.Struct):
    customer: str
    amount: int


class Decision(msgspec.Struct):
    approved: bool
    comment: str = ""


@step
def check(ctx: StepContext, order: Order) -> Order:
    """Checks the order."""
    if order.amount <= 0:
        raise ValueError("amount must be positive")
    return order


@step
def price(ctx: StepContext, order: Order) -> float:
    """Prices the order."""
    return order.amount * 1.2


@step
def risk(ctx: StepContext, order: Order) -> str:
    """Looks up the customer's risk."""
    return "low" if order.customer != "mallory" else "high"


@step(resume=Decision)
async def review(ctx: StepContext, total: float) -> dict:
    """A person approves large orders."""
    if ctx.resume_data is None:
        await ctx.suspend({"question": f"approve an order of {total:.2f}?"})
    return {"total": total, "approved": ctx.resume_data.approved, "by": "reviewer"}


@step
def auto_approve(ctx: StepContext, total: float) -> dict:
    """Small orders pass."""
    return {"total": total, "approved": True, "by": "rule"}


@step
def receipt(ctx: StepContext, decision: dict) -> str:
    """Writes the receipt."""
    verdict = "approved" if decision["approved"] else "declined"
    return f"{verdict} {decision['total']:.2f} ({decision['by']})"


def is_large(total: float) -> bool:
    return total >= 100


def is_small(total: float) -> bool:
    return total < 100


def only_decision(branches: dict) -> dict:
    return next(iter(branches.values()))


def total_of(priced: dict) -> float:
    return float(priced["price"])


@step
def refine(ctx: StepContext, n: int) -> int:
    """One more pass."""
    return n + 1


@step
def square(ctx: StepContext, n: int) -> int:
    """Per item."""
    return n * n


def upto(n: int) -> list[int]:
    return list(range(n))


# The reshape workflow's first map waits until a test sets this (at most 10 s), so the test
# can see it running.
RELEASE_MAP = threading.Event()


async def held(order: Order) -> dict:
    await asyncio.to_thread(RELEASE_MAP.wait, 10)
    return {"customer": order.customer, "amount": order.amount}


def within_limit(order: dict) -> dict:
    if order["amount"] > 1000:
        raise ValueError(f"amount {order['amount']} is over the 1000 limit")
    return order


@step
def label(ctx: StepContext, order: dict) -> str:
    """Names the order."""
    return f"{order['customer']}: {order['amount']}"


def approval_workflow() -> Workflow:
    return (
        Workflow("approval", input=Order, description="price an order; large ones need a person")
        .then(check)
        .parallel([price, risk])
        .map(total_of)
        .branch([(is_large, review), (is_small, auto_approve)])
        .map(only_decision)
        .then(receipt)
        .commit()
    )


def batch_workflow() -> Workflow:
    return (
        Workflow("batch", input=int, description="refine until 3, then square each item")
        .dountil(refine, lambda n: n >= 3)
        .map(upto)
        .foreach(square, concurrency=2)
        .commit()
    )


def reshape_workflow() -> Workflow:
    return (
        Workflow("reshape", input=Order, description="two maps: one waits, one checks a limit")
        .map(held)
        .map(within_limit)
        .then(label)
        .commit()
    )


# -- the registry ---------------------------------------------------------------------------


def make_mastra(*, delay: float = 0.03, long_words: int = 2000) -> Mastra:
    storage = InMemoryStorage()
    memory = Memory(
        options=MemoryOptions(
            working_memory=WorkingMemory(template="# About the user\n- name:\n- city:\n")
        )
    )
    weather = Agent(
        "weather",
        "Answer about the weather.",
        SlowStream(weather_script, delay=delay, model="scripted-weather"),
        tools=[get_weather],
        memory=memory,
        description="knows the weather (scripted)",
    )
    fragile = Agent("fragile", "Fails.", SlowStream(explode, model="scripted-fail"))
    chatty = Agent(
        "chatty",
        "Talk a lot.",
        SlowStream(long_answer(long_words), delay=0.001, model="scripted-long"),
    )
    docs = InMemoryVector()
    return Mastra(
        agents=[weather, fragile, chatty],
        workflows=[approval_workflow(), batch_workflow(), reshape_workflow()],
        storage=storage,
        vectors={"docs": docs},
        telemetry=Telemetry(enabled=True),
    )


async def seed(mastra: Mastra) -> None:
    """Two stored threads for the weather agent, and a small index of notes."""
    memory = mastra.get_agent("weather").memory
    assert memory is not None
    threads = (("t-oslo", "Trip to Oslo", "Oslo"), ("t-paris", "Paris plans", "Paris"))
    for thread_id, title, city in threads:
        await memory.create_thread(RESOURCE, thread_id=thread_id, title=title)
        call = ToolCall(f"call-{city}", "get_weather", {"city": city})
        await memory.save_messages(
            thread_id,
            [
                Message.user(f"Weather in {city}?"),
                Message.assistant(None, [call]),
                Message.tool([_result(call, city)]),
                Message.assistant(f"It is 18 °C in {city}."),
            ],
            resource_id=RESOURCE,
        )
    await memory.update_working_memory("t-oslo", RESOURCE, "# About the user\n- city: Oslo\n")
    docs = mastra.get_vector("docs")
    await docs.create_index("notes", 4)
    notes = ["coats in winter", "umbrellas in spring", "hats in summer", "boots in autumn"]
    vectors = [[1.0 if i == j else 0.1 for j in range(4)] for i in range(4)]
    await docs.upsert("notes", vectors, [{"text": n, "source": "notes.md"} for n in notes])


def _result(call: ToolCall, city: str) -> Any:
    from mastra.messages import ToolResult

    return ToolResult(call.id, call.name, {"city": city, "temp_c": 18, "sky": "clear"})


class ServerThread:
    """``create_app(make_mastra(), **options)`` served on 127.0.0.1 from a thread."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.mastra_options = options.pop("mastra", {})
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._failure: BaseException | None = None

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the Studio test server did not start in 30 s")
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    def _serve(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            mastra = make_mastra(**self.mastra_options)
            loop.run_until_complete(seed(mastra))
            runner = web.AppRunner(create_app(mastra, **self.options), shutdown_timeout=1)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = runner.addresses[0][1]
            self.url = f"http://127.0.0.1:{port}"
        except BaseException as exc:  # reported by __enter__
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(mastra.aclose())
        loop.close()
