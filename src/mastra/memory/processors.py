"""Processors applied to the history before each model call: token limiting and tool-call
filtering, on the one processor protocol of :mod:`mastra.processors`. Both keep a tool call
and its results together (or drop them together)."""

from __future__ import annotations

import msgspec

from mastra.messages import Message, ToolCall, ToolResult
from mastra.processors.base import Processor, ProcessorContext
from mastra.processors.tokens import TokenLimiter, count_tokens, turns

__all__ = ["TokenLimiter", "ToolCallFilter", "count_tokens", "turns"]


class ToolCallFilter(msgspec.Struct, Processor, frozen=True):
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

    async def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        return self(messages)
