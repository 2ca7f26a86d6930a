"""Token counting and the token limiter (used on memory's history and on an agent's input)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Literal

import msgspec

from mastra.messages import Message, ToolCall, ToolResult
from mastra.processors.base import Processor, ProcessorContext

__all__ = ["TokenLimiter", "count_tokens", "turns"]


@functools.cache
def _counter() -> Callable[[str], int]:
    """The token counter, made at the first count (tiktoken and its encoding file are not
    loaded with the module: agents without a token limit never need them)."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
        return lambda text: len(encoding.encode(text, disallowed_special=()))
    except Exception:  # not installed, or its data cannot be had offline: estimate instead
        return lambda text: (len(text) + 3) // 4


def count_tokens(message: Message) -> int:
    """Tokens of a message: tiktoken when installed, else ~4 characters a token."""
    text = message.text + "".join(
        msgspec.json.encode(p).decode()
        for p in message.parts
        if isinstance(p, (ToolCall, ToolResult))
    )
    return _counter()(text) + 4  # role and framing


_JSON = msgspec.json.Encoder()


def _at_most(messages: Sequence[Message]) -> int:
    """An upper bound of the messages' tokens, cheap to compute: a token is at least one
    byte, and each message's JSON holds its text and tool parts."""
    return sum(len(_JSON.encode(m.parts)) + 4 for m in messages)


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


class TokenLimiter(msgspec.Struct, Processor, frozen=True):
    """Keeps messages within ``max_tokens``: the leading system messages always, then the
    newest whole tool-call units that fit (``strategy="drop"``); or trips the wire when the
    messages are over the limit (``strategy="abort"``). On memory's history it keeps the
    newest messages that fit; called as a function it does the same."""

    max_tokens: int
    strategy: Literal["drop", "abort"] = "drop"

    def __call__(self, messages: list[Message]) -> list[Message]:
        return self._drop(messages)

    def _drop(self, messages: list[Message]) -> list[Message]:
        if _at_most(messages) <= self.max_tokens:
            return messages
        head = 0
        while head < len(messages) and messages[head].role == "system":
            head += 1
        budget = self.max_tokens - sum(count_tokens(m) for m in messages[:head])
        kept: list[list[Message]] = []
        for unit in reversed(turns(messages[head:])):
            cost = sum(count_tokens(m) for m in unit)
            if cost > budget:
                break
            kept.append(unit)
            budget -= cost
        return [*messages[:head], *(m for unit in reversed(kept) for m in unit)]

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        if self.strategy == "drop":
            return self._drop(messages)
        if _at_most(messages) <= self.max_tokens:
            return messages
        total = sum(count_tokens(m) for m in messages)
        if total > self.max_tokens:
            ctx.abort(f"the input is {total} tokens; the limit is {self.max_tokens}")
        return messages
