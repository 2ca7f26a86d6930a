"""``mastra demo``: a small real agent with two tools, streamed to the terminal."""

from __future__ import annotations

import ast
import operator
import os
import sys
import time
from functools import cache
from importlib import resources
from typing import IO, Annotated, Any

import msgspec
import orjson

from mastra.agent import (
    Agent,
    AgentFinish,
    StepFinish,
    TextDelta,
    ToolCallEvent,
    ToolResultEvent,
)
from mastra.demo_offline import offline_model
from mastra.errors import MastraError, ToolError
from mastra.llm import LanguageModel
from mastra.tools import tool

__all__ = ["DEFAULT_PROMPT", "build_agent", "run_demo"]

DEFAULT_PROMPT = "How many Earths of mass is Jupiter, and how many moons does it have?"

_OPERATORS: dict[type[ast.AST], Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.operand)))
    raise ToolError(f"only numbers and + - * / ** % ( ) are allowed, not {ast.dump(node)[:60]}")


@tool
def calculate(
    expression: Annotated[str, msgspec.Meta(examples=["1.898e27 / 5.972e24"])],
) -> float:
    """Evaluate an arithmetic expression exactly (numbers, + - * / ** %, parentheses).

    Args:
        expression: The expression, e.g. "1.898e27 / 5.972e24".
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {exc.msg}") from None
    return round(_evaluate(tree.body), 6)


@cache
def _planets() -> dict[str, dict[str, float]]:
    data: dict[str, dict[str, float]] = orjson.loads(
        resources.files("mastra.data").joinpath("planets.json").read_bytes()
    )
    return data


@tool
def lookup_planet(name: Annotated[str, msgspec.Meta(examples=["Jupiter"])]) -> dict[str, Any]:
    """Facts about a planet of the solar system: mass (kg), radius (km), moons, day length
    (hours) and distance from the Sun (AU).

    Args:
        name: The planet's English name, e.g. "Jupiter".
    """
    planets = _planets()
    found = planets.get(name.strip().title())
    if found is None:
        raise ToolError(f"no planet named {name!r}; known: {', '.join(planets)}")
    return {"name": name.strip().title(), **found}


def build_agent(model: str | LanguageModel) -> Agent:
    return Agent(
        "astronomer",
        "You answer questions about the solar system. Look facts up with lookup_planet and "
        "do arithmetic with calculate; never guess numbers. Answer in two sentences.",
        model,
        tools=[calculate, lookup_planet],
        max_steps=6,
    )


def _choose_model(name: str | None, source: str, out: IO[str]) -> LanguageModel | str:
    if name:
        print(f"model: {name} (from {source})", file=out)
        return name
    print(
        "No model configured (set MASTRA_MODEL, e.g. openai/gpt-4o-mini with OPENAI_API_KEY, "
        "or ollama/llama3.2): running offline on a scripted stand-in model. The tools run "
        "for real; which tools to call and the wording of the answer are scripted.",
        file=out,
    )
    return offline_model(_planets())


async def run_demo(
    prompt: str = DEFAULT_PROMPT, model: str | None = None, out: IO[str] | None = None
) -> int:
    """Run the demo agent, streaming to ``out`` (stdout); returns the process exit code."""
    out = out or sys.stdout
    chosen = _choose_model(
        model or os.environ.get("MASTRA_MODEL"), "--model" if model else "MASTRA_MODEL", out
    )
    agent = build_agent(chosen)
    print(f"question: {prompt}\n", file=out)
    started = time.perf_counter()
    streamed = False  # text written since the last line break
    try:
        async for event in agent.stream(prompt):
            if isinstance(event, TextDelta):
                out.write(event.text)
                out.flush()
                streamed = True
                continue
            if streamed:
                out.write("\n")
                streamed = False
            if isinstance(event, ToolCallEvent):
                args = orjson.dumps(event.tool_call.arguments).decode()
                print(f"  -> {event.tool_call.name}({args})", file=out)
            elif isinstance(event, ToolResultEvent):
                mark = "error" if event.result.is_error else "ok"
                content = orjson.dumps(event.result.content, default=str).decode()
                print(f"  <- {mark} in {event.duration_ms:.2f} ms: {content[:160]}", file=out)
            elif isinstance(event, StepFinish):
                step = event.step
                print(
                    f"  [step {step.index + 1}: {step.duration_ms:.1f} ms, "
                    f"{step.usage.total_tokens} tokens, "
                    f"finish={step.response.finish_reason}]",
                    file=out,
                )
            elif isinstance(event, AgentFinish):
                result = event.result
                print(f"\nanswer: {result.text}", file=out)
                print(
                    f"steps: {len(result.steps)}, tool calls: {len(result.tool_calls)}, "
                    f"usage: {result.usage.input_tokens} in / {result.usage.output_tokens} "
                    f"out, finish: {result.finish_reason}, "
                    f"time: {(time.perf_counter() - started) * 1000:.1f} ms",
                    file=out,
                )
    except MastraError as exc:
        print(f"\nmastra demo: {type(exc).__name__}: {exc}", file=out)
        return 2
    finally:
        await agent.aclose()
    return 0
