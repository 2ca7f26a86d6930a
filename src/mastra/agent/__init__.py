"""Agents: a model, instructions and tools, run step by step until the model answers."""

from mastra.agent.agent import Agent, ContinueOptions, RunContext, RunOptions
from mastra.agent.durable import ResumeError
from mastra.agent.network import DelegationComplete, DelegationStart, NetworkOptions, Reject
from mastra.agent.results import (
    AgentEvent,
    AgentFinish,
    AgentResult,
    PendingToolCall,
    Step,
    StepFinish,
    ToolCallEvent,
    ToolProgress,
    ToolResultEvent,
)
from mastra.llm.types import ModelSettings, ReasoningDelta, TextDelta
from mastra.tools.tool import AbortSignal

__all__ = [
    "AbortSignal",
    "Agent",
    "AgentEvent",
    "AgentFinish",
    "AgentResult",
    "ContinueOptions",
    "DelegationComplete",
    "DelegationStart",
    "ModelSettings",
    "NetworkOptions",
    "PendingToolCall",
    "ReasoningDelta",
    "Reject",
    "ResumeError",
    "RunContext",
    "RunOptions",
    "Step",
    "StepFinish",
    "TextDelta",
    "ToolCallEvent",
    "ToolProgress",
    "ToolResultEvent",
]
