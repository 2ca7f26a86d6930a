import asyncio
import time

import msgspec
import orjson
import pytest

from mastra import Mastra
from mastra.agent import (
    Agent,
    AgentFinish,
    ModelSettings,
    TextDelta,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.errors import ValidationError
from mastra.http import RetryPolicy
from mastra.llm import ModelResponse
from mastra.llm.openai import OpenAIChatModel
from mastra.llm.testing import FunctionModel, TestModel
from mastra.messages import Message, ToolCall, Usage
from mastra.telemetry import InMemoryExporter, Telemetry
from mastra.tools import ToolContext, tool
from tests.servers import json_reply


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool(timeout=0.05)
async def sleepy() -> str:
    """Never answers in time."""
    await asyncio.sleep(5)
    return "late"


def calls(*items):
    """A model response asking for tools: items are (name, arguments) pairs."""
    return ModelResponse(
        message=Message.assistant(
            None, [ToolCall(f"c{i}", n, a) for i, (n, a) in enumerate(items)]
        ),
        usage=Usage(10, 5, 0, 15),
        finish_reason="tool_calls",
    )


def scripted(*responses):
    """A FunctionModel that answers with each response in turn and records the requests."""
    seen = []

    def answer(request):
        seen.append(request)
        reply = responses[min(len(seen), len(responses)) - 1]
        return reply(request) if callable(reply) else reply

    return FunctionModel(answer), seen


async def test_tool_loop_results_and_usage():
    model, seen = scripted(calls(("add", {"a": 2, "b": 3})), "The sum is 5.")
    agent = Agent("calc", "You add numbers.", model, tools=[add])
    result = await agent.generate("What is 2 + 3?")
    assert result.text == "The sum is 5." and result.finish_reason == "stop"
    assert [s.index for s in result.steps] == [0, 1]
    assert result.tool_calls == [ToolCall("c0", "add", {"a": 2, "b": 3})]
    assert [r.content for r in result.tool_results] == [5]
    assert result.usage.input_tokens == 10 + result.steps[1].usage.input_tokens
    first, second = seen
    assert first.messages[0] == Message.system("You add numbers.")
    assert first.tools[0].name == "add"
    assert second.messages[-1].tool_results[0].content == 5
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]


async def test_tool_failures_go_back_to_the_model():
    model, seen = scripted(
        calls(
            ("add", {"a": "two", "b": 3}), ("sleepy", {}), ("nope", {}), ("add", {"a": 1, "b": 1})
        ),
        "recovered",
    )
    agent = Agent("calc", model=model, tools=[add, sleepy])
    result = await agent.generate("go")
    step = result.steps[0]
    errors = {r.name: r.content for r in step.tool_errors}
    assert "invalid arguments for tool 'add'" in errors["add"]
    assert errors["sleepy"] == "tool 'sleepy' timed out after 0.05 s"
    assert errors["nope"] == "unknown tool 'nope'; available tools: add, sleepy"
    assert step.tool_results[-1].content == 2 and not step.tool_results[-1].is_error
    assert result.text == "recovered"
    sent = seen[1].messages[-1].tool_results
    assert [r.is_error for r in sent] == [True, True, True, False]


async def test_max_steps_is_a_finish_reason_not_an_exception():
    model, _ = scripted(calls(("add", {"a": 1, "b": 1})))
    result = await Agent("loop", model=model, tools=[add], max_steps=3).generate("forever")
    assert result.finish_reason == "max_steps" and len(result.steps) == 3
    with pytest.raises(ValidationError, match="max_steps must be an integer >= 1"):
        Agent("bad", model=model, max_steps=0)


async def test_parallel_tool_calls_run_concurrently():
    @tool
    async def wait(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    model, _ = scripted(
        calls(("wait", {"seconds": 0.2}), ("wait", {"seconds": 0.2}), ("wait", {"seconds": 0.2})),
        "done",
    )
    started = time.monotonic()
    result = await Agent("par", model=model, tools=[wait]).generate("go")
    assert time.monotonic() - started < 0.45
    assert [r.tool_call_id for r in result.tool_results] == ["c0", "c1", "c2"]


class Verdict(msgspec.Struct):
    ok: bool
    reason: str


async def test_structured_output_and_one_repair():
    model, seen = scripted(
        calls(("add", {"a": 1, "b": 2})), '{"ok": true}', '{"ok": true, "reason": "fixed"}'
    )
    result = await Agent("judge", model=model, tools=[add], output=Verdict).generate("judge")
    assert result.object == Verdict(True, "fixed")
    assert result.text == '{"ok": true, "reason": "fixed"}'
    assert seen[0].response_format.name == "Verdict"
    assert seen[0].response_format.schema["required"] == ["ok", "reason"]
    assert "does not match the required JSON schema" in seen[2].messages[-1].text
    assert seen[2].tools == [] and len(result.steps) == 3

    model, _ = scripted("not json", "still not json")
    with pytest.raises(ValidationError, match=r"valid Verdict.*'still not json'"):
        await Agent("judge", model=model, output=Verdict).generate("judge")

    result = await Agent("judge", model=TestModel(call_tools=False)).generate("x", output=Verdict)
    assert result.object == Verdict(False, "a")


async def test_stream_events_in_order():
    model, _ = scripted(calls(("add", {"a": 2, "b": 2})), "four it is")
    agent = Agent("calc", model=model, tools=[add])
    events = [e async for e in agent.stream("2+2")]
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "ToolCallEvent",
        "ToolResultEvent",
        "StepFinish",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "StepFinish",
        "AgentFinish",
    ]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "four it is"
    assert events[-1].result.text == "four it is"


async def test_tool_progress_is_streamed():
    @tool
    async def crawl(ctx: ToolContext) -> str:
        ctx.progress("halfway", pct=50)
        await asyncio.sleep(0)
        return "ok"

    model, _ = scripted(calls(("crawl", {})), "done")
    events = [e async for e in Agent("c", model=model, tools=[crawl]).stream("go")]
    progress = [e for e in events if isinstance(e, ToolProgress)]
    assert progress == [ToolProgress("c0", "halfway", {"pct": 50})]
    assert events.index(progress[0]) < next(
        i for i, e in enumerate(events) if isinstance(e, ToolResultEvent)
    )


async def test_leaving_the_stream_cancels_running_tools():
    state = {"cancelled": False}

    @tool
    async def forever() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            state["cancelled"] = True
            raise
        return "never"

    model, _ = scripted(calls(("forever", {})), "done")
    agent = Agent("c", model=model, tools=[forever])

    async def consume():
        async for event in agent.stream("go"):
            if isinstance(event, ToolCallEvent):
                await asyncio.sleep(0.05)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert state["cancelled"]


async def test_callbacks_dynamic_instructions_and_settings():
    steps, finished = [], []
    model, seen = scripted("hi")

    async def instructions(run):
        return f"Agent {run.agent} for {run.context['user']}"

    agent = Agent(
        "greeter", instructions, model, model_settings=ModelSettings(temperature=0.1, max_tokens=20)
    )
    await agent.generate(
        "hello", context={"user": "ada"}, on_step_finish=steps.append, on_finish=finished.append
    )
    assert seen[0].messages[0].text == "Agent greeter for ada"
    assert (seen[0].settings.temperature, seen[0].settings.max_tokens) == (0.1, 20)
    assert len(steps) == 1 and finished[0].text == "hi"


async def test_agents_as_tools_and_registry_tracing():
    helper_model, _ = scripted("Paris")
    helper = Agent("geo", "Answer geography questions.", helper_model, description="Geography")
    boss_model, seen = scripted(calls(("geo", {"prompt": "Capital of France?"})), "It is Paris.")
    boss = Agent("boss", model=boss_model, tools=[helper.as_tool()])
    exporter = InMemoryExporter()
    app = Mastra(agents=[boss, helper], telemetry=Telemetry("app", exporters=[exporter]))
    assert app.get_agent("boss") is boss
    result = await boss.generate("Where is the Louvre?")
    assert result.text == "It is Paris."
    assert seen[1].messages[-1].tool_results[0].content == "Paris"
    names = [s.name for s in exporter.spans]
    assert names.count("agent.run") == 2 and names.count("gen_ai.chat") == 3
    assert names.count("tool.call") == 1
    run_span = next(
        s
        for s in exporter.spans
        if s.name == "agent.run" and s.attributes["gen_ai.agent.name"] == "boss"
    )
    chat = next(s for s in exporter.spans if s.name == "gen_ai.chat")
    tool_span = next(s for s in exporter.spans if s.name == "tool.call")
    assert chat.attributes["gen_ai.system"] == "function"
    assert chat.attributes["gen_ai.usage.input_tokens"] == 10
    assert tool_span.attributes["gen_ai.tool.name"] == "geo"
    assert tool_span.trace_id == run_span.trace_id
    assert run_span.attributes["mastra.finish_reason"] == "stop"


def test_sync_twins():
    model, _ = scripted(calls(("add", {"a": 1, "b": 2})), "three")
    agent = Agent("calc", model=model, tools=[add])
    assert agent.generate_sync("1+2").text == "three"
    events = list(Agent("calc", model=scripted("one two")[0]).stream_sync("count"))
    assert isinstance(events[-1], AgentFinish) and events[-1].result.text == "one two"


def test_constructor_validation():
    with pytest.raises(ValidationError, match="non-empty name"):
        Agent("", model=TestModel())
    with pytest.raises(ValidationError, match="two tools named 'add'"):
        Agent("a", model=TestModel(), tools=[add, add])
    with pytest.raises(ValidationError, match=r"memory must be a mastra\.memory\.Memory"):
        Agent("a", model=TestModel(), memory=object())
    assert Agent("a", model="openai/gpt-4o-mini").model.name == "openai/gpt-4o-mini"


async def test_against_a_local_openai_server(provider_server):
    url, script = await provider_server("/v1")
    first = {
        "id": "1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 20, "b": 22}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 30, "completion_tokens": 8, "total_tokens": 38},
    }
    second = {
        "id": "2",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "It is 42."},
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 4, "total_tokens": 54},
    }
    script.add(json_reply(first)).add(json_reply(second))
    model = OpenAIChatModel(
        "gpt-4o-mini", api_key="sk-x", base_url=url, retry=RetryPolicy(max_attempts=1)
    )
    result = await Agent("calc", "Add.", model, tools=[add]).generate("20 + 22?")
    await model.close()
    assert result.text == "It is 42." and result.usage.input_tokens == 80
    tool_message = script.requests[1]["json"]["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "call_9", "content": "42"}
    assert (
        orjson.loads(orjson.dumps(script.requests[0]["json"]["tools"]))[0]["function"]["name"]
        == "add"
    )


def test_the_documented_function_model_that_calls_a_tool():
    """docs/llm.md's offline-testing recipe, as written there."""
    from mastra.llm import ModelRequest, ModelResponse
    from mastra.messages import Message, ToolCall

    @tool
    def get_weather(city: str) -> dict:
        """Current weather for a city."""
        return {"city": city, "temp_c": 18}

    def script(request: ModelRequest) -> ModelResponse | str:
        last = request.messages[-1]
        if last.role != "tool":  # first turn: ask for the tool
            call = ToolCall("call_1", "get_weather", {"city": "Paris"})
            return ModelResponse(
                message=Message.assistant(None, [call]), finish_reason="tool_calls"
            )
        result = last.tool_results[0].content  # second turn: answer from its result
        return f"It is {result['temp_c']} °C in Paris."

    agent = Agent("weather", "Answer briefly.", FunctionModel(script), tools=[get_weather])
    result = agent.generate_sync("Coat?")
    assert result.text == "It is 18 °C in Paris."
    assert [c.name for c in result.tool_calls] == ["get_weather"]
