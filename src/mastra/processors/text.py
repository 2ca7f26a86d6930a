"""Helpers the built-in processors share: rewriting the text of messages and results."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from mastra.messages import Message, Part, TextPart

if TYPE_CHECKING:
    from mastra.agent.results import AgentResult

__all__ = ["map_result_text", "map_text", "user_texts"]


def map_text(message: Message, fn: Callable[[str], str]) -> Message:
    """``message`` with ``fn`` applied to each text part (the same object when nothing
    changed)."""
    parts: list[Part] = []
    changed = False
    for part in message.parts:
        if isinstance(part, TextPart):
            text = fn(part.text)
            if text != part.text:
                part, changed = TextPart(text), True
        parts.append(part)
    return Message(message.role, parts) if changed else message


def map_result_text(result: AgentResult, fn: Callable[[str], str]) -> AgentResult:
    """``result`` with ``fn`` applied to its text and to the text of its assistant
    messages (what memory saves), the same object when nothing changed. ``fn`` sees each
    distinct text once (the answer is usually also the last message)."""
    seen: dict[str, str] = {}

    def once(value: str) -> str:
        done = seen.get(value)
        if done is None:
            done = seen[value] = fn(value)
        return done

    text = once(result.text)
    messages = [map_text(m, once) if m.role == "assistant" else m for m in result.messages]
    if text == result.text and all(a is b for a, b in zip(messages, result.messages, strict=True)):
        return result
    return msgspec.structs.replace(result, text=text, messages=messages)


def user_texts(messages: list[Message], start: int) -> str:
    """The text of the user messages from ``start`` on, one per line."""
    return "\n".join(m.text for m in messages[start:] if m.role == "user")
