"""Requests, responses and stream events every :class:`LanguageModel` speaks."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

from mastra.messages import FinishReason, Message, ToolCall, Usage

__all__ = [
    "Finish",
    "JsonSchemaFormat",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "ReasoningDelta",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "ToolChoice",
    "ToolSpec",
    "UsageUpdate",
]


class ToolSpec(msgspec.Struct, frozen=True):
    """A tool the model may call: its name, description and JSON Schema of arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool = False


class JsonSchemaFormat(msgspec.Struct, frozen=True):
    """Ask for a JSON answer matching ``schema`` (structured output)."""

    name: str
    schema: dict[str, Any]
    strict: bool = True


ToolChoice: TypeAlias = Literal["auto", "none", "required"] | str  # a name forces that tool


class ModelSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to sample and which tool to use; ``None`` leaves the provider's default. ``extra``
    is merged into the provider's request body as is (provider-specific options)."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    tool_choice: ToolChoice = "auto"
    extra: dict[str, Any] = {}


class ModelRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a model call needs: the conversation, the tools on offer, an optional
    JSON answer format, and the settings."""

    messages: list[Message]
    tools: list[ToolSpec] = []
    response_format: JsonSchemaFormat | None = None
    settings: ModelSettings = ModelSettings()


class ModelResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A complete answer: the assistant message, usage, why it stopped, and the provider's
    id for the response."""

    message: Message
    usage: Usage = Usage()
    finish_reason: FinishReason = "stop"
    id: str | None = None
    model: str | None = None

    @property
    def text(self) -> str:
        return self.message.text


class TextDelta(msgspec.Struct, frozen=True, tag="text_delta"):
    text: str


class ReasoningDelta(msgspec.Struct, frozen=True, tag="reasoning_delta"):
    text: str


class ToolCallStart(msgspec.Struct, frozen=True, tag="tool_call_start"):
    index: int
    id: str
    name: str


class ToolCallDelta(msgspec.Struct, frozen=True, tag="tool_call_delta"):
    index: int
    arguments_delta: str


class ToolCallEnd(msgspec.Struct, frozen=True, tag="tool_call_end"):
    index: int
    tool_call: ToolCall


class UsageUpdate(msgspec.Struct, frozen=True, tag="usage"):
    usage: Usage


class Finish(msgspec.Struct, frozen=True, tag="finish"):
    """The last event of every stream: the reason and the whole assembled response."""

    finish_reason: FinishReason
    response: ModelResponse


StreamEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | ToolCallEnd | UsageUpdate | Finish
)
