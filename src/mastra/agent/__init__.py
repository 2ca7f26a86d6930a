"""Agents: a model, instructions and tools, run step by step until the model answers."""

from mastra.agent.agent import Agent, RunContext, RunOptions
from mastra.agent.results import (
    AgentEvent,
    AgentFinish,
    AgentResult,
    Step,
    StepFinish,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.llm.types import ModelSettings, ReasoningDelta, TextDelta

__all__ = [
    "Agent",
    "AgentEvent",
    "AgentFinish",
    "AgentResult",
    "ModelSettings",
    "ReasoningDelta",
    "RunContext",
    "RunOptions",
    "Step",
    "StepFinish",
    "TextDelta",
    "ToolCallEvent",
    "ToolProgress",
    "ToolResultEvent",
]
