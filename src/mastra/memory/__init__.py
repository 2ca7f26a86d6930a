"""Memory for agents: history, semantic recall, working memory, processors and pruning."""

from mastra.memory.memory import Memory
from mastra.memory.options import MemoryOptions, PrunePolicy, SemanticRecall, WorkingMemory
from mastra.memory.processors import TokenLimiter, ToolCallFilter, count_tokens

__all__ = [
    "Memory",
    "MemoryOptions",
    "PrunePolicy",
    "SemanticRecall",
    "TokenLimiter",
    "ToolCallFilter",
    "WorkingMemory",
    "count_tokens",
]
