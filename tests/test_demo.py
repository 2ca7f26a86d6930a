import io

import orjson
import pytest

from mastra.cli import main
from mastra.demo import calculate, lookup_planet, run_demo
from mastra.demo_offline import SCRIPTED_NOTE
from mastra.messages import ToolCall
from tests.servers import sse_reply


async def test_offline_demo_says_so_and_uses_both_tools(monkeypatch):
    monkeypatch.delenv("MASTRA_MODEL", raising=False)
    out = io.StringIO()
    assert await run_demo(out=out) == 0
    text = out.getvalue()
    assert "No model configured" in text and "scripted stand-in model" in text
    assert '-> lookup_planet({"name":"Jupiter"})' in text
    assert '-> calculate({"expression":"1.898e+27 / 5.972e+24"})' in text
    assert "<- ok" in text and "317.816477" in text
    answer = text.split("answer: ")[1]
    assert answer.startswith("Jupiter has a mass of 1.898e+27 kg") and "95 moons" in answer
    assert "317.8 times the mass of the Earth" in answer and "{" not in answer  # prose
    assert SCRIPTED_NOTE in answer
    assert "steps: 3, tool calls: 3" in text


@pytest.mark.parametrize(
    ("prompt", "calls", "says"),
    [
        ("What is 2+2?", ['calculate({"expression":"2+2"})'], "2+2 = 4."),
        ("What is 2^10?", ['calculate({"expression":"2**10"})'], "2**10 = 1024."),
        (
            "How big is Mars, and what is (3+4)*2?",
            ['calculate({"expression":"(3+4)*2"})', 'lookup_planet({"name":"Mars"})'],
            "a radius of 3,389.5 km and 2 moons",
        ),
        ("Tell me a joke", [], "Offline I can only do arithmetic"),
    ],
)
async def test_offline_demo_answers_the_question_asked(monkeypatch, prompt, calls, says):
    monkeypatch.delenv("MASTRA_MODEL", raising=False)
    out = io.StringIO()
    assert await run_demo(prompt, out=out) == 0
    text = out.getvalue()
    assert [line.strip()[3:] for line in text.splitlines() if "  -> " in line] == calls
    assert says in text.split("answer: ")[1]
    assert "1.898e+27" not in text  # not the default question answered instead


def test_demo_command_line(monkeypatch, capsys):
    monkeypatch.delenv("MASTRA_MODEL", raising=False)
    assert main(["demo", "--prompt", "How big is Mars?"]) == 0
    printed = capsys.readouterr().out
    assert "question: How big is Mars?" in printed and "Mars has a mass of" in printed


def chunk(delta, finish=None):
    return orjson.dumps(
        {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    ).decode()


async def test_demo_against_a_configured_provider(provider_server, monkeypatch):
    url, script = await provider_server("/v1")
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup_planet", "arguments": '{"name": '},
    }
    tool_turn = [
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"mars"}'}}]}),
        chunk({}, "tool_calls"),
    ]
    answer = [chunk({"content": "Mars has "}), chunk({"content": "2 moons."}), chunk({}, "stop")]
    script.add(sse_reply(tool_turn)).add(sse_reply(answer))
    monkeypatch.setenv("MASTRA_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-demo-000000000000")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    out = io.StringIO()
    code = await run_demo("Moons of Mars?", out=out)
    text = out.getvalue()
    assert code == 0, text
    assert "model: openai/gpt-4o-mini (from MASTRA_MODEL)" in text
    assert '"name":"Mars","mass_kg"' in text and "answer: Mars has 2 moons." in text
    assert script.requests[0]["json"]["tools"][0]["function"]["name"] == "calculate"


async def test_demo_reports_provider_errors(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    out = io.StringIO()
    assert await run_demo(model="anthropic/claude-sonnet-4-6", out=out) == 2
    assert "AuthenticationError" in out.getvalue() and "ANTHROPIC_API_KEY" in out.getvalue()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [("2 * (3 + 4)", 14), ("2 ** 10", 1024), ("-5 % 3", 1), ("1.898e27 / 5.972e24", 317.816477)],
)
async def test_calculator(expression, expected):
    outcome = await calculate.run(ToolCall("c", "calculate", {"expression": expression}))
    assert outcome.result.content == expected


@pytest.mark.parametrize("expression", ["__import__('os')", "x + 1", "2 +", "[1]"])
async def test_calculator_refuses_anything_else(expression):
    outcome = await calculate.run(ToolCall("c", "calculate", {"expression": expression}))
    assert outcome.result.is_error


async def test_planet_lookup_reads_shipped_data():
    ok = await lookup_planet.run(ToolCall("c", "lookup_planet", {"name": " saturn "}))
    assert ok.result.content["moons"] == 146
    missing = await lookup_planet.run(ToolCall("c", "lookup_planet", {"name": "Pluto"}))
    assert missing.result.is_error and "known: Mercury" in missing.result.content
