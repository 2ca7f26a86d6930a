"""Deterministic models for tests and offline runs: no network, no key.

- :class:`TestModel` calls every tool it is offered once, with arguments made from the tool's
  JSON Schema, then answers with text naming what the tools returned.
- :class:`FunctionModel` lets a Python function decide each response.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from mastra.llm.base import LanguageModel, StreamAssembler
from mastra.llm.types import ModelRequest, ModelResponse, StreamEvent
from mastra.messages import Message, ToolCall, Usage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["FunctionModel", "TestModel", "sample_from_schema"]

ModelFunction = Callable[[ModelRequest], "ModelResponse | str | Awaitable[ModelResponse | str]"]


def sample_from_schema(schema: dict[str, Any]) -> Any:
    """A simple value that satisfies a JSON Schema: its first example or its default when it
    has one, else the first enum value, minimums, required properties ..."""
    if "const" in schema:
        return schema["const"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample_from_schema(options[0])
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {k: sample_from_schema(props[k]) for k in required if k in props}
    if kind == "array":
        count = schema.get("minItems", 1)
        return [sample_from_schema(schema.get("items", {"type": "string"}))] * count
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "a" * int(schema.get("minLength", 1))


def _usage(request: ModelRequest, response: Message) -> Usage:
    """Word counts standing in for tokens, so usage adds up in tests."""
    words_in = sum(len(m.text.split()) for m in request.messages)
    words_out = len(response.text.split()) + len(response.tool_calls)
    return Usage(words_in, words_out, 0, words_in + words_out)


async def _stream_response(response: ModelResponse) -> AsyncGenerator[StreamEvent, None]:
    """A complete response replayed as stream events (text word by word)."""
    assembler = StreamAssembler()
    assembler.id, assembler.model = response.id, response.model
    for word in response.message.reasoning.split(" ") if response.message.reasoning else []:
        if (thought := assembler.reasoning_delta(word + " ")) is not None:
            yield thought
    words = response.text.split(" ")
    for i, word in enumerate(words):
        if text := assembler.text_delta(word if i == len(words) - 1 else word + " "):
            yield text
    for index, call in enumerate(response.message.tool_calls):
        yield assembler.tool_start(index, call.id, call.name)
        arguments = call.raw_arguments or orjson.dumps(call.arguments).decode()
        if (delta := assembler.tool_delta(index, arguments)) is not None:
            yield delta
    yield assembler.set_usage(response.usage)
    for event in assembler.finish(response.finish_reason):
        yield event


class TestModel(LanguageModel):
    """First turn: one call of every tool offered (arguments from its schema). Next turn:
    ``text`` if given, else a JSON summary of the tool results (or of the schema, when a
    response_format asks for JSON). Deterministic: no randomness, no clock."""

    __test__ = False  # not a pytest test class
    provider = "test"

    def __init__(
        self, text: str | None = None, *, call_tools: bool = True, model: str = "test-model"
    ) -> None:
        self.text = text
        self.call_tools = call_tools
        self.model = model

    async def generate(self, request: ModelRequest) -> ModelResponse:
        last = request.messages[-1] if request.messages else None
        if self.call_tools and request.tools and (last is None or last.role != "tool"):
            calls = [
                ToolCall(f"call_{i}", t.name, sample_from_schema(t.parameters))
                for i, t in enumerate(request.tools)
            ]
            message = Message.assistant(None, calls)
            return ModelResponse(
                message=message,
                usage=_usage(request, message),
                finish_reason="tool_calls",
                model=self.model,
            )
        if self.text is not None:
            text = self.text
        elif request.response_format is not None:
            text = orjson.dumps(sample_from_schema(request.response_format.schema)).decode()
        elif last is not None and last.role == "tool":
            text = orjson.dumps(
                {r.name: r.content for r in last.tool_results}, default=str
            ).decode()
        else:
            text = "success (no tool calls)"
        message = Message.assistant(text)
        return ModelResponse(
            message=message, usage=_usage(request, message), finish_reason="stop", model=self.model
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        async for event in _stream_response(await self.generate(request)):
            yield event

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Deterministic unit vectors from the texts' bytes (8 dimensions)."""
        import numpy as np  # here, not at import: chat-only programs never load it

        rows = np.zeros((len(texts), 8), dtype=np.float32)
        for i, text in enumerate(texts):
            for j, byte in enumerate(text.encode()):
                rows[i, j % 8] += byte
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        np.divide(rows, norms, out=rows, where=norms > 0)
        return rows


class FunctionModel(LanguageModel):
    """A model whose every answer is ``fn(request)``: a :class:`ModelResponse`, or a string
    for a plain text answer. ``fn`` may be sync or async. Streams replay the answer word by
    word."""

    provider = "function"

    def __init__(self, fn: ModelFunction, *, model: str | None = None) -> None:
        self.fn = fn
        self.model = model or str(getattr(fn, "__name__", "function"))

    async def generate(self, request: ModelRequest) -> ModelResponse:
        answer = self.fn(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, str):
            message = Message.assistant(answer)
            return ModelResponse(
                message=message,
                usage=_usage(request, message),
                finish_reason="stop",
                model=self.model,
            )
        return answer

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        async for event in _stream_response(await self.generate(request)):
            yield event
