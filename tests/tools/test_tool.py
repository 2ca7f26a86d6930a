import asyncio
import dataclasses
import enum
import threading
import time
from typing import Literal, TypedDict

import msgspec
import pytest

from mastra.errors import ValidationError
from mastra.messages import ToolCall
from mastra.tools import Tool, ToolContext, parse_docstring, tool


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


class Place(msgspec.Struct):
    city: str
    country: str = "FR"


@dataclasses.dataclass
class Window:
    days: int


class Flags(TypedDict):
    verbose: bool


@tool
def forecast(
    place: Place,
    unit: Unit = Unit.CELSIUS,
    hours: list[int] = [6, 12],
    mode: Literal["brief", "full"] = "brief",
    note: str | None = None,
    window: Window | None = None,
    flags: Flags | None = None,
    extra: dict[str, float] = {},
    ratio: float = 0.5,
    count: int = 1,
    ok: bool = True,
) -> dict:
    """Forecast for a place.

    Args:
        place: Where to look.
        unit: Temperature unit.
    """
    return {"city": place.city, "unit": unit.value, "hours": hours}


def call(name="forecast", **arguments):
    return ToolCall("c1", name, arguments)


def test_schema_from_type_hints_and_docstring():
    schema = forecast.parameters
    props = schema["properties"]
    assert forecast.description == "Forecast for a place."
    assert schema["required"] == ["place"] and schema["additionalProperties"] is False
    assert props["place"] == {"$ref": "#/$defs/Place", "description": "Where to look."}
    assert props["unit"]["description"] == "Temperature unit." and props["unit"]["default"] == "c"
    assert schema["$defs"]["Unit"]["enum"] == ["c", "f"]
    assert props["hours"] == {"type": "array", "items": {"type": "integer"}}
    assert props["mode"]["enum"] == ["brief", "full"]
    assert props["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert schema["$defs"]["Window"]["properties"] == {"days": {"type": "integer"}}
    assert schema["$defs"]["Flags"]["properties"] == {"verbose": {"type": "boolean"}}
    assert props["extra"]["additionalProperties"] == {"type": "number"}
    assert (props["ratio"]["type"], props["count"]["type"], props["ok"]["type"]) == (
        "number",
        "integer",
        "boolean",
    )
    assert forecast.parameters is schema  # built once, cached
    assert forecast.spec.name == "forecast"


def test_docstring_styles():
    numpy_doc = """Add.

    Parameters
    ----------
    a : int
        First number.
    b : int
        Second
        number.
    """
    assert parse_docstring(numpy_doc) == ("Add.", {"a": "First number.", "b": "Second number."})
    rest = """Multiply.

    :param x: the x
    :param int y: the y
    :returns: product
    """
    assert parse_docstring(rest) == ("Multiply.", {"x": "the x", "y": "the y"})
    assert parse_docstring(None) == ("", {})


async def test_run_validates_and_fills_defaults():
    outcome = await forecast.run(call(place={"city": "Paris"}))
    assert outcome.error is None
    assert outcome.result.content == {"city": "Paris", "unit": "c", "hours": [6, 12]}
    assert forecast(Place("Oslo"))["city"] == "Oslo"  # still a plain function


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "Object missing required field `place`"),
        ({"place": {"city": 5}}, "Expected `str`, got `int` - at `$.place.city`"),
        ({"place": {"city": "x"}, "mode": "loud"}, "Invalid enum value 'loud'"),
        ({"place": {"city": "x"}, "bogus": 1}, "unknown field `bogus`"),
    ],
)
async def test_invalid_arguments_become_error_results(arguments, message):
    outcome = await forecast.run(call(**arguments))
    assert outcome.result.is_error and message in outcome.result.content
    assert outcome.result.content.startswith("invalid arguments for tool 'forecast'")


async def test_raw_arguments_exceptions_and_timeouts():
    outcome = await forecast.run(ToolCall("c", "forecast", {}, raw_arguments="{bad"))
    assert outcome.result.is_error and "not a JSON object" in outcome.result.content

    @tool
    def explode(x: int) -> int:
        raise KeyError("missing thing")

    outcome = await explode.run(call("explode", x=1))
    assert outcome.result.content == "tool 'explode' failed: KeyError: 'missing thing'"

    @tool(timeout=0.05)
    async def slow() -> str:
        await asyncio.sleep(5)
        return "never"

    started = time.monotonic()
    outcome = await slow.run(call("slow"))
    assert outcome.error == "tool 'slow' timed out after 0.05 s"
    assert time.monotonic() - started < 1

    @tool
    async def own_timeout() -> str:
        raise TimeoutError("upstream took too long")

    outcome = await own_timeout.run(call("own_timeout"))
    assert outcome.error == "tool 'own_timeout' failed: TimeoutError: upstream took too long"


async def test_explicit_tool_with_input_and_output_structs():
    class Query(msgspec.Struct):
        text: str
        limit: int = 3

    class Hits(msgspec.Struct):
        ids: list[int]

    def search(args: Query) -> dict:
        return {"ids": list(range(args.limit))}

    search_tool = Tool("search", "Search the index", input=Query, output=Hits, execute=search)
    outcome = await search_tool.run(call("search", text="x", limit=2))
    assert outcome.result.content == {"ids": [0, 1]}
    assert search_tool.parameters["properties"]["limit"] == {"type": "integer", "default": 3}
    bad = Tool("bad", input=Query, output=Hits, execute=lambda args: {"ids": "nope"})
    outcome = await bad.run(call("bad", text="x"))
    assert outcome.result.is_error and "Expected `array`" in outcome.result.content
    with pytest.raises(ValidationError, match="non-empty string id"):
        Tool("", execute=search)


async def test_tool_context_and_progress_and_threads():
    seen = []

    @tool
    def crawl(pages: int, ctx: ToolContext) -> str:
        for page in range(pages):
            ctx.progress("page done", page=page)
        on_main = threading.current_thread() is threading.main_thread()
        return f"{ctx.agent}:{ctx.thread_id}:{on_main}"

    assert "ctx" not in crawl.parameters["properties"]
    ctx = ToolContext(agent="a", thread_id="t", on_progress=lambda m, d: seen.append((m, d)))
    outcome = await crawl.run(call("crawl", pages=2), ctx)
    assert outcome.result.content == "a:t:False"  # sync tools run off the event loop
    assert seen == [("page done", {"page": 0}), ("page done", {"page": 1})]


def test_tools_need_named_parameters():
    with pytest.raises(ValidationError, match="takes \\*args"):
        tool(lambda *args: None)
