"""Processors applied to the history before each model call: token limiting and tool-call
filtering. Both keep a tool call and its results together (or drop them together)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from mastra.messages import Message, ToolCall, ToolResult

__all__ = ["TokenLimiter", "ToolCallFilter", "count_tokens", "turns"]


def _tokenizer() -> Callable[[str], int]:
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    except Exception:  # not installed, or its data cannot be had offline: estimate instead
        return lambda text: (len(text) + 3) // 4


_count = _tokenizer()


def count_tokens(message: Message) -> int:
    """Tokens of a message: tiktoken when installed, else ~4 characters a token."""
    text = message.text + "".join(
        msgspec.json.encode(p).decode()
        for p in message.parts
        if isinstance(p, (ToolCall, ToolResult))
    )
    return _count(text) + 4  # role and framing


def turns(messages: Sequence[Message]) -> list[list[Message]]:
    """Messages grouped so that an assistant message with tool calls and the tool messages
    answering it form one unit."""
    units: list[list[Message]] = []
    for message in messages:
        if message.role == "tool" and units and units[-1][0].tool_calls:
            units[-1].append(message)
        else:
            units.append([message])
    return units


class TokenLimiter(msgspec.Struct, frozen=True):
    """Keep the newest messages that fit ``max_tokens`` (whole tool-call units only)."""

    max_tokens: int

    def __call__(self, messages: list[Message]) -> list[Message]:
        kept: list[list[Message]] = []
        budget = self.max_tokens
        for unit in reversed(turns(messages)):
            cost = sum(count_tokens(m) for m in unit)
            if cost > budget:
                break
            kept.append(unit)
            budget -= cost
        return [m for unit in reversed(kept) for m in unit]


class ToolCallFilter(msgspec.Struct, frozen=True):
    """Remove tool calls and their results from the history: all of them, or only those of
    the tools named in ``exclude``."""

    exclude: tuple[str, ...] = ()

    def __call__(self, messages: list[Message]) -> list[Message]:
        out: list[Message] = []
        for message in messages:
            parts = [
                p
                for p in message.parts
                if not (
                    isinstance(p, (ToolCall, ToolResult))
                    and (not self.exclude or p.name in self.exclude)
                )
            ]
            if parts:
                out.append(Message(message.role, parts))
        return out
