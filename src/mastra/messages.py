"""Typed conversation values shared by models, tools, agents and memory (msgspec Structs).

A :class:`Message` has a role and a list of parts: :class:`TextPart`, :class:`ImagePart`,
:class:`ToolCall`, :class:`ToolResult` and :class:`ReasoningPart`. Providers translate these
to and from their own wire formats.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

__all__ = [
    "FinishReason",
    "ImagePart",
    "Message",
    "Part",
    "ReasoningPart",
    "Role",
    "TextPart",
    "ToolCall",
    "ToolResult",
    "Usage",
]

Role: TypeAlias = Literal["system", "user", "assistant", "tool"]
FinishReason: TypeAlias = Literal[
    "stop", "length", "tool_calls", "content_filter", "error", "other"
]


class TextPart(msgspec.Struct, frozen=True, tag="text"):
    text: str


class ImagePart(msgspec.Struct, frozen=True, tag="image"):
    """An image by URL, or as bytes with their media type ("image/png" ...)."""

    url: str | None = None
    data: bytes | None = None
    media_type: str | None = None


class ToolCall(msgspec.Struct, frozen=True, tag="tool_call"):
    """The model asks for tool ``name`` with JSON ``arguments``; ``id`` pairs it with its
    result."""

    id: str
    name: str
    arguments: dict[str, Any] = {}
    raw_arguments: str | None = None
    """The model's argument text when it was not a JSON object (``arguments`` is then {})."""


class ToolResult(msgspec.Struct, frozen=True, tag="tool_result"):
    """The outcome of a tool call: any JSON value, or an error message with is_error."""

    tool_call_id: str
    name: str
    content: Any = None
    is_error: bool = False


class ReasoningPart(msgspec.Struct, frozen=True, tag="reasoning"):
    """Model reasoning ("thinking") where the provider exposes it; ``signature`` is echoed
    back to providers that require it."""

    text: str
    signature: str | None = None


Part: TypeAlias = TextPart | ImagePart | ToolCall | ToolResult | ReasoningPart


class Message(msgspec.Struct, frozen=True):
    """One conversation turn."""

    role: Role
    parts: list[Part] = []

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", [TextPart(text)])

    @classmethod
    def user(cls, content: str | list[Part]) -> Message:
        return cls("user", [TextPart(content)] if isinstance(content, str) else list(content))

    @classmethod
    def assistant(
        cls, text: str | None = None, tool_calls: list[ToolCall] | None = None
    ) -> Message:
        parts: list[Part] = [TextPart(text)] if text else []
        return cls("assistant", [*parts, *(tool_calls or [])])

    @classmethod
    def tool(cls, results: list[ToolResult]) -> Message:
        return cls("tool", list(results))

    @property
    def text(self) -> str:
        """The text parts joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [p for p in self.parts if isinstance(p, ToolResult)]

    @property
    def reasoning(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, ReasoningPart))


class Usage(msgspec.Struct, frozen=True):
    """Token counts of one call (or a sum of calls: ``a + b``)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.total_tokens + other.total_tokens,
        )
