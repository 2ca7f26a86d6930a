"""Anthropic Messages API: system prompt, tool_use / tool_result blocks, thinking, streaming."""

from __future__ import annotations

import base64
import functools
from collections.abc import AsyncGenerator
from typing import Any, Unpack

import msgspec
import orjson

from mastra.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from mastra.llm.base import (
    HttpModel,
    HttpOptions,
    StreamAssembler,
    finish_reason,
    merge_turns,
    settings_body,
)
from mastra.llm.openai import tool_result_text
from mastra.llm.types import ModelRequest, ModelResponse, StreamEvent
from mastra.messages import (
    FinishReason,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    ToolCall,
    Usage,
)

__all__ = ["AnthropicModel"]

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


class _Block(msgspec.Struct):
    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    thinking: str | None = None
    signature: str | None = None


class _WireUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class _Message(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    content: list[_Block] = []
    stop_reason: str | None = None
    usage: _WireUsage | None = None


class _Delta(msgspec.Struct):
    """Both kinds of delta: a content block's (text / JSON / thinking / signature) and the
    message's (stop reason)."""

    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None


class _Error(msgspec.Struct):
    type: str = "api_error"
    message: str = ""


class _Event(msgspec.Struct):
    """Any streaming event; ``type`` says which fields are set. Unknown types are skipped."""

    type: str
    index: int | None = None
    message: _Message | None = None
    content_block: _Block | None = None
    delta: _Delta | None = None
    usage: _WireUsage | None = None
    error: _Error | None = None


_NO_USAGE = Usage()
_EVENT = msgspec.json.Decoder(_Event)
# Anthropic has no seed.
_SETTINGS = {"temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_ERRORS: dict[str, type[ProviderError]] = {
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "rate_limit_error": RateLimitError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "invalid_request_error": BadRequestError,
}


def _usage(wire: _WireUsage | None, previous: Usage = _NO_USAGE) -> Usage:
    """Anthropic reports fresh input tokens apart from cache reads and writes; ours counts
    them all as input, with the cache reads also in cached_input_tokens."""
    if wire is None:
        return previous
    cached = wire.cache_read_input_tokens
    if wire.input_tokens is None and cached is None:
        prompt, cached = previous.input_tokens, previous.cached_input_tokens
    else:
        prompt = (wire.input_tokens or 0) + (cached or 0) + (wire.cache_creation_input_tokens or 0)
    output = wire.output_tokens if wire.output_tokens is not None else previous.output_tokens
    return Usage(prompt, output, cached or 0, prompt + output)


def _content(part: Part) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        if part.url:
            return {"type": "image", "source": {"type": "url", "url": part.url}}
        return {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": part.media_type or "image/png",
                "data": base64.b64encode(part.data or b"").decode(),
            },
        }
    if isinstance(part, ToolCall):
        return {"type": "tool_use", "id": part.id, "name": part.name, "input": part.arguments}
    if isinstance(part, ReasoningPart):
        if part.signature is None:
            return None  # unsigned reasoning (from another provider) cannot be sent back
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return {
        "type": "tool_result",
        "tool_use_id": part.tool_call_id,
        "content": tool_result_text(part),
        **({"is_error": True} if part.is_error else {}),
    }


class AnthropicModel(HttpModel):
    """A Claude model through the Messages API.

    Structured output (``response_format``) is asked for with a forced tool whose input
    schema is the requested schema; the tool's input comes back as the JSON text answer.
    """

    provider = "anthropic"
    api_version = "v1"

    default_base_url = ANTHROPIC_BASE_URL
    default_key_env = ("ANTHROPIC_API_KEY",)
    auth_header = ("x-api-key", "{key}")

    def __init__(
        self, model: str, *, version: str = ANTHROPIC_VERSION, **options: Unpack[HttpOptions]
    ) -> None:
        options["headers"] = {"anthropic-version": version, **(options.get("headers") or {})}
        super().__init__(model, **options)
        self.version = version

    def body(self, request: ModelRequest) -> dict[str, Any]:
        system, turns = merge_turns(
            request.messages, _content, assistant="assistant", key="content"
        )
        body: dict[str, Any] = {
            "model": self.model,
            "messages": turns,
            "max_tokens": request.settings.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        tools = [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in request.tools
        ]
        choice = request.settings.tool_choice
        if request.response_format is not None:
            fmt = request.response_format
            tools.append(
                {
                    "name": fmt.name,
                    "description": "Give the answer in this shape.",
                    "input_schema": fmt.schema,
                }
            )
            choice = fmt.name
        if tools:
            body["tools"] = tools
            body["tool_choice"] = (
                {"type": "auto"}
                if choice == "auto"
                else {"type": "any"}
                if choice == "required"
                else {"type": "none"}
                if choice == "none"
                else {"type": "tool", "name": choice}
            )
        body.update(settings_body(request.settings, _SETTINGS))
        body.update(request.settings.extra)
        return body

    @staticmethod
    def _answer_parts(
        request: ModelRequest, parts: list[Part], reason: FinishReason
    ) -> tuple[list[Part], FinishReason]:
        """With structured output, the forced tool's input is the answer: turn that call into
        the JSON text it stands for."""
        fmt = request.response_format
        if fmt is None:
            return parts, reason
        out: list[Part] = []
        for part in parts:
            if isinstance(part, ToolCall) and part.name == fmt.name:
                out.append(TextPart(orjson.dumps(part.arguments).decode()))
                reason = "stop"
            else:
                out.append(part)
        return out, reason

    async def generate(self, request: ModelRequest) -> ModelResponse:
        message = await self._http().request_json(
            "POST", "/messages", json=self.body(request), type=_Message
        )
        parts: list[Part] = []
        for block in message.content:
            if block.type == "text" and block.text:
                parts.append(TextPart(block.text))
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else {}
                parts.append(ToolCall(block.id or "", block.name or "", arguments))
            elif block.type == "thinking" and block.thinking:
                parts.append(ReasoningPart(block.thinking, block.signature))
        parts, reason = self._answer_parts(
            request, parts, finish_reason(_FINISH, message.stop_reason)
        )
        return ModelResponse(
            message=Message("assistant", parts),
            usage=_usage(message.usage),
            finish_reason=reason,
            id=message.id,
            model=message.model,
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamEvent, None]:
        assembler = StreamAssembler()
        stop: str | None = None
        body = {**self.body(request), "stream": True}
        async for sse in self._http().stream_sse("POST", "/messages", json=body):
            event = self.decode_event(_EVENT, sse.data, "JSON of the Messages API")
            if event.type == "message_start" and event.message is not None:
                assembler.id, assembler.model = event.message.id, event.message.model
                yield assembler.set_usage(_usage(event.message.usage))
            elif event.type == "content_block_start" and event.content_block is not None:
                block, index = event.content_block, event.index or 0
                if block.type == "tool_use":
                    yield assembler.tool_start(index, block.id or "", block.name or "")
                elif (text := assembler.text_delta(block.text)) is not None:
                    yield text
            elif event.type == "content_block_delta" and event.delta is not None:
                for delta in self._block_delta(assembler, event.index or 0, event.delta):
                    yield delta
            elif event.type == "content_block_stop":
                if (end := assembler.tool_end(event.index or 0)) is not None:
                    yield end
            elif event.type == "message_delta":
                stop = (event.delta.stop_reason if event.delta else None) or stop
                yield assembler.set_usage(_usage(event.usage, assembler.usage))
            elif event.type == "error":
                error = event.error or _Error()
                kind = _ERRORS.get(error.type, ProviderError)
                raise kind(
                    f"{self.name} stream failed: {error.type}: {error.message}",
                    provider=self.provider,
                    body=error.message,
                )
            elif event.type == "message_stop":
                break
        rewrite = functools.partial(self._answer_parts, request)
        for final in assembler.finish(finish_reason(_FINISH, stop), rewrite):
            yield final

    @staticmethod
    def _block_delta(assembler: StreamAssembler, index: int, delta: _Delta) -> list[StreamEvent]:
        if delta.type == "input_json_delta":
            out: StreamEvent | None = assembler.tool_delta(index, delta.partial_json)
        elif delta.type == "thinking_delta":
            out = assembler.reasoning_delta(delta.thinking)
        elif delta.type == "signature_delta":
            assembler.reasoning_signature = delta.signature
            out = None
        else:
            out = assembler.text_delta(delta.text)
        return [out] if out is not None else []
