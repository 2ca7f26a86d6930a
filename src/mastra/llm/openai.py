"""OpenAI Chat Completions and embeddings, and every OpenAI-compatible server (Groq,
DeepSeek, OpenRouter, Together, vLLM, Ollama, LM Studio ...)."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any, Unpack

import msgspec
import orjson

from mastra.errors import ProviderError
from mastra.llm.base import (
    HttpModel,
    HttpOptions,
    StreamAssembler,
    finish_reason,
    parse_arguments,
    settings_body,
)
from mastra.llm.types import ModelRequest, ModelResponse, StreamEvent
from mastra.messages import (
    FinishReason,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    ToolResult,
    Usage,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["OpenAIChatModel", "image_url", "tool_result_text"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
_EMBED_BATCH = 2048


# -- the wire format (only the fields we read; unknown fields are ignored) -------------------


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _WireToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    function: _Function | None = None


class _WireMessage(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_WireToolCall] | None = None
    reasoning_content: str | None = None  # DeepSeek, vLLM reasoning parsers
    reasoning: str | None = None  # OpenRouter, Groq


class _Choice(msgspec.Struct):
    index: int = 0
    message: _WireMessage | None = None
    delta: _WireMessage | None = None
    finish_reason: str | None = None


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _WireUsage(msgspec.Struct):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    total_tokens: int | None = 0
    prompt_tokens_details: _PromptDetails | None = None


class _Completion(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    choices: list[_Choice] = []
    usage: _WireUsage | None = None


class _Embedding(msgspec.Struct):
    index: int
    embedding: list[float]


class _Embeddings(msgspec.Struct):
    data: list[_Embedding]


_CHUNK = msgspec.json.Decoder(_Completion)
_SETTINGS = {"temperature": "temperature", "top_p": "top_p", "stop": "stop", "seed": "seed"}
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def _usage(wire: _WireUsage | None) -> Usage:
    if wire is None:
        return Usage()
    details = wire.prompt_tokens_details
    prompt, completion = wire.prompt_tokens or 0, wire.completion_tokens or 0
    return Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cached_input_tokens=(details.cached_tokens or 0) if details else 0,
        total_tokens=wire.total_tokens or prompt + completion,
    )


# -- request translation -------------------------------------------------------------------


def image_url(part: ImagePart) -> str:
    """An image as a URL: its own, or a data: URL of its bytes."""
    if part.url:
        return part.url
    data = base64.b64encode(part.data or b"").decode()
    return f"data:{part.media_type or 'image/png'};base64,{data}"


def tool_result_text(result: ToolResult) -> str:
    """A tool result as the text providers expect (JSON for anything but a string)."""
    if isinstance(result.content, str):
        return result.content
    return orjson.dumps(result.content, default=str).decode()


def _arguments_text(call: ToolCall) -> str:
    return (
        call.raw_arguments
        if call.raw_arguments is not None
        else orjson.dumps(call.arguments).decode()
    )


def _user_content(parts: list[Part]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            content.append({"type": "image_url", "image_url": {"url": image_url(part)}})
    return content


def _messages(messages: list[Message]) -> list[dict[str, Any]]:
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            wire.append({"role": "system", "content": message.text})
        elif message.role == "user":
            wire.append({"role": "user", "content": _user_content(message.parts)})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": _arguments_text(c)},
                    }
                    for c in message.tool_calls
                ]
            wire.append(entry)
        else:
            wire.extend(
                {"role": "tool", "tool_call_id": r.tool_call_id, "content": tool_result_text(r)}
                for r in message.tool_results
            )
    return wire


def request_body(request: ModelRequest, model: str, max_tokens_field: str) -> dict[str, Any]:
    """The Chat Completions body for a request."""
    body: dict[str, Any] = {"model": model, "messages": _messages(request.messages)}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                    **({"strict": True} if t.strict else {}),
                },
            }
            for t in request.tools
        ]
        choice = request.settings.tool_choice
        body["tool_choice"] = (
            choice
            if choice in ("auto", "none", "required")
            else {"type": "function", "function": {"name": choice}}
        )
    if request.response_format is not None:
        fmt = request.response_format
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.name, "schema": fmt.schema, "strict": fmt.strict},
        }
    body.update(settings_body(request.settings, {**_SETTINGS, "max_tokens": max_tokens_field}))
    body.update(request.settings.extra)
    return body


# -- the model -----------------------------------------------------------------------------


class OpenAIChatModel(HttpModel):
    """A Chat Completions model at OpenAI or any OpenAI-compatible server.

    Args:
        model: the model id ("gpt-4o-mini", "llama-3.3-70b-versatile" ...).
        provider: the name used in errors and ``name``.
        max_tokens_field: ``max_completion_tokens`` for OpenAI, ``max_tokens`` for most
            compatible servers.
        options: as :class:`~mastra.llm.base.HttpModel` (``base_url`` is the API root,
            ``.../v1``; ``key_required=False`` for local servers such as Ollama).
    """

    provider = "openai"
    default_base_url = OPENAI_BASE_URL
    default_key_env = ("OPENAI_API_KEY",)

    def __init__(
        self,
        model: str,
        *,
        provider: str = "openai",
        max_tokens_field: str = "max_completion_tokens",
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(model, **options)
        self.provider = provider
        self.max_tokens_field = max_tokens_field

    def body(self, request: ModelRequest) -> dict[str, Any]:
        return request_body(request, self.model, self.max_tokens_field)

    async def generate(self, request: ModelRequest) -> ModelResponse:
        completion = await self._http().request_json(
            "POST", "/chat/completions", json=self.body(request), type=_Completion
        )
        if not completion.choices or completion.choices[0].message is None:
            raise ProviderError(f"{self.name} answered without a choice", provider=self.provider)
        choice = completion.choices[0]
        wire = choice.message
        assert wire is not None
        parts: list[Part] = []
        reasoning = wire.reasoning_content or wire.reasoning
        if reasoning:
            parts.append(ReasoningPart(reasoning))
        if wire.content:
            parts.append(TextPart(wire.content))
        if wire.refusal:
            parts.append(TextPart(wire.refusal))
        for call in wire.tool_calls or []:
            function = call.function or _Function()
            arguments, raw = parse_arguments(function.arguments or "")
            parts.append(ToolCall(call.id or "", function.name or "", arguments, raw))
        reason = "content_filter" if wire.refusal else finish_reason(_FINISH, choice.finish_reason)
        return ModelResponse(
            message=Message("assistant", parts),
            usage=_usage(completion.usage),
            finish_reason=reason,
            id=completion.id,
            model=completion.model,
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        body = {**self.body(request), "stream": True, "stream_options": {"include_usage": True}}
        assembler = StreamAssembler()
        reason: FinishReason | None = None
        refused = False
        async for event in self._http().stream_sse("POST", "/chat/completions", json=body):
            if event.data == "[DONE]":
                break
            chunk = self.decode_event(_CHUNK, event.data, "a completion chunk")
            assembler.id = assembler.id or chunk.id
            assembler.model = assembler.model or chunk.model
            if chunk.usage is not None:
                yield assembler.set_usage(_usage(chunk.usage))
            for choice in chunk.choices[:1]:
                for out in self._deltas(assembler, choice.delta):
                    yield out
                if choice.delta is not None and choice.delta.refusal:
                    refused = True
                if choice.finish_reason:
                    reason = finish_reason(_FINISH, choice.finish_reason)
        for out in assembler.finish("content_filter" if refused else reason or "other"):
            yield out

    @staticmethod
    def _deltas(assembler: StreamAssembler, delta: _WireMessage | None) -> list[StreamEvent]:
        if delta is None:
            return []
        events: list[StreamEvent | None] = [
            assembler.reasoning_delta(delta.reasoning_content or delta.reasoning),
            assembler.text_delta(delta.content),
            assembler.text_delta(delta.refusal),
        ]
        for call in delta.tool_calls or []:
            index = call.index if call.index is not None else len(assembler.calls)
            function = call.function or _Function()
            if index not in assembler.calls:
                events.append(
                    assembler.tool_start(index, call.id or f"call_{index}", function.name or "")
                )
            events.append(assembler.tool_delta(index, function.arguments))
        return [e for e in events if e is not None]

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embeddings from ``/embeddings``, batched, one row per text in order."""
        rows: list[list[float]] = []
        for start in range(0, len(texts), _EMBED_BATCH):
            batch = list(texts[start : start + _EMBED_BATCH])
            answer = await self._http().request_json(
                "POST",
                "/embeddings",
                json={"model": self.model, "input": batch, "encoding_format": "float"},
                type=_Embeddings,
            )
            rows.extend(e.embedding for e in sorted(answer.data, key=lambda e: e.index))
        if len(rows) != len(texts):
            raise ProviderError(
                f"{self.name} returned {len(rows)} embeddings for {len(texts)} texts",
                provider=self.provider,
            )
        import numpy as np  # here, not at import: chat-only programs never load it

        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)
