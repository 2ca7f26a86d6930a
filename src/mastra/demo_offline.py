"""The scripted stand-in model ``mastra demo`` runs on when no model is configured.

It reads the question the way a model would only in the narrowest sense: arithmetic
expressions go to ``calculate``, planets it recognises by name go to ``lookup_planet`` (and
"how many Earths" becomes a division), and its answer is prose built from the tools' real
results. What it cannot do it says, instead of answering something else."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from mastra.llm import ModelRequest, ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.messages import Message, ToolCall, Usage

__all__ = ["SCRIPTED_NOTE", "offline_model"]

SCRIPTED_NOTE = "[offline: the tools chosen and this wording are scripted; tool results are real]"

_EXPRESSION = re.compile(r"(?<![\w.])[-+(]*\d[\d.eE]*(?:\s*[-+*/%^]{1,2}\s*[-+(]*\d[\d.eE]*\)*)+")
_RATIO = re.compile(r"\bhow many earths?\b|\bearths? of mass\b|\btimes (?:the )?earth", re.I)


def offline_model(planets: Iterable[str]) -> FunctionModel:
    """A deterministic model for the demo agent, knowing these planet names."""
    known = list(planets)

    def answer(request: ModelRequest) -> ModelResponse | str:
        question = next((m.text for m in request.messages if m.role == "user"), "") or ""
        results = _tool_results(request.messages)
        calls = _next_calls(question, known, results)
        if calls:
            return ModelResponse(
                message=Message.assistant(None, calls), usage=Usage(), finish_reason="tool_calls"
            )
        return _prose(question, known, results)

    return FunctionModel(answer, model="scripted-offline")


def _tool_results(messages: list[Message]) -> dict[tuple[str, str], Any]:
    """(tool, its argument) -> result content, for every call answered so far."""
    asked = {
        call.id: (call.name, str(next(iter(call.arguments.values()), "")))
        for m in messages
        for call in m.tool_calls
    }
    return {
        asked[r.tool_call_id]: r.content
        for m in messages
        for r in m.tool_results
        if r.tool_call_id in asked and not r.is_error
    }


def _planets_named(question: str, known: list[str]) -> list[str]:
    return [p for p in known if re.search(rf"\b{p}\b", question, re.I)]


def _next_calls(
    question: str, known: list[str], results: dict[tuple[str, str], Any]
) -> list[ToolCall]:
    wanted: list[tuple[str, str]] = []
    named = _planets_named(question, known)
    if not results:
        wanted += [("calculate", e.replace("^", "**")) for e in _EXPRESSION.findall(question)]
        if _RATIO.search(question) and named and "Earth" not in named:
            named.append("Earth")
        wanted += [("lookup_planet", p) for p in named]
    elif _RATIO.search(question) and ("lookup_planet", "Earth") in results:
        earth = results["lookup_planet", "Earth"]["mass_kg"]
        for planet in named:
            if planet != "Earth" and ("lookup_planet", planet) in results:
                mass = results["lookup_planet", planet]["mass_kg"]
                expression = f"{mass} / {earth}"
                if ("calculate", expression) not in results:
                    wanted.append(("calculate", expression))
    key = {"calculate": "expression", "lookup_planet": "name"}
    return [
        ToolCall(f"call_{len(results)}_{i}", tool, {key[tool]: argument})
        for i, (tool, argument) in enumerate(wanted)
    ]


def _prose(question: str, known: list[str], results: dict[tuple[str, str], Any]) -> str:
    sentences: list[str] = []
    facts = {arg: r for (tool, arg), r in results.items() if tool == "lookup_planet"}
    sums = {arg: r for (tool, arg), r in results.items() if tool == "calculate"}
    earth = facts.get("Earth", {}).get("mass_kg")
    ratios = {name: f"{f['mass_kg']} / {earth}" for name, f in facts.items()}
    for name in _planets_named(question, known):
        if name not in facts:
            continue
        f = facts[name]
        sentences.append(
            f"{name} has a mass of {f['mass_kg']:.4g} kg, a radius of {f['radius_km']:,g} km "
            f"and {_moons(f['moons'])}; a day there lasts {f['day_hours']:g} hours, and it "
            f"orbits {f['distance_au']:g} AU from the Sun."
        )
        if name != "Earth" and ratios[name] in sums:
            sentences.append(f"That is {sums[ratios[name]]:,.1f} times the mass of the Earth.")
    sentences += [f"{e} = {v:g}." for e, v in sums.items() if e not in ratios.values()]
    if not sentences:
        sentences.append(
            "Offline I can only do arithmetic (like 2+2) or look up a planet by name "
            f"({', '.join(known)}); set MASTRA_MODEL to ask a real model anything."
        )
    return " ".join(sentences) + "\n" + SCRIPTED_NOTE


def _moons(count: int) -> str:
    return "no moons" if count == 0 else "one moon" if count == 1 else f"{count} moons"
