"""What a Memory keeps and shows the model."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = ["MemoryOptions", "PrunePolicy", "SemanticRecall", "WorkingMemory"]

Scope = Literal["thread", "resource"]


class SemanticRecall(msgspec.Struct, frozen=True, kw_only=True):
    """Find earlier messages similar to the new one: ``top_k`` matches, each with
    ``message_range`` neighbours on either side, in this thread or across the resource's
    threads; matches scoring under ``threshold`` are ignored."""

    top_k: int = 3
    message_range: int = 1
    scope: Scope = "resource"
    threshold: float | None = None


class WorkingMemory(msgspec.Struct, frozen=True, kw_only=True):
    """Durable notes the model keeps up to date through the ``update_working_memory`` tool:
    markdown from ``template``, or a JSON object validated against ``schema``."""

    template: str = "# User\n- Name:\n- Preferences:\n"
    schema: Any = None
    scope: Scope = "resource"


class MemoryOptions(msgspec.Struct, frozen=True, kw_only=True):
    """``last_messages`` of history, optional semantic recall and working memory, and the
    processors applied to the history before each call: :mod:`mastra.processors`
    processors (``TokenLimiter``, ``ToolCallFilter`` ...) or plain functions
    ``list[Message] -> list[Message]``."""

    last_messages: int | None = 10
    semantic_recall: SemanticRecall | None = None
    working_memory: WorkingMemory | None = None
    processors: tuple[Any, ...] = ()


class PrunePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """Keep at most ``max_messages`` per thread (or per resource); drop the lowest scores,
    ``importance * 0.5 ** (age / half_life_days)``, never the newest ``keep_last``."""

    max_messages: int
    per: Scope = "thread"
    half_life_days: float = 30.0
    keep_last: int = 10
