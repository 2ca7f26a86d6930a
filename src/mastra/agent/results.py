"""What an agent run produces: steps, the result, and the events a stream yields."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

from mastra.llm.types import ModelRequest, ModelResponse, ReasoningDelta, TextDelta
from mastra.messages import Message, ToolCall, ToolResult, Usage

__all__ = [
    "AgentEvent",
    "AgentFinish",
    "AgentResult",
    "PendingToolCall",
    "Step",
    "StepFinish",
    "ToolCallEvent",
    "ToolProgress",
    "ToolResultEvent",
]


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One model call and the tool calls it asked for."""

    index: int
    request: ModelRequest
    response: ModelResponse
    tool_calls: list[ToolCall] = []
    tool_results: list[ToolResult] = []
    usage: Usage = Usage()
    duration_ms: float = 0.0

    @property
    def tool_errors(self) -> list[ToolResult]:
        return [r for r in self.tool_results if r.is_error]


class PendingToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A tool call a suspended run waits on: ``kind="approval"`` (continue it with
    ``agent.approve`` / ``agent.decline``) or ``kind="suspend"`` (the tool called
    ``ctx.suspend(payload)``; continue with ``agent.resume(run_id, data)``)."""

    tool_call: ToolCall
    kind: Literal["approval", "suspend"] = "approval"
    payload: Any = None


class AgentResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of ``Agent.generate``: the final text (and ``object`` with ``output=``),
    every step, the total usage and why it stopped: the model's finish reason,
    ``"max_steps"``, ``"tripwire"`` (a processor stopped the run; ``tripwire`` says why),
    ``"aborted"`` (its ``abort_signal`` fired) or ``"suspended"``. ``messages`` are the run's
    new messages, prompt included.

    ``status`` is ``"completed"``, or ``"suspended"`` while tool calls wait for approval or
    resume data (``pending_tool_calls``; continue with ``agent.approve`` / ``decline`` /
    ``resume`` and ``run_id``)."""

    text: str
    object: Any = None
    steps: list[Step] = []
    usage: Usage = Usage()
    finish_reason: str = "stop"
    run_id: str = ""
    messages: list[Message] = []
    status: Literal["completed", "suspended"] = "completed"
    tripwire: str | None = None
    pending_tool_calls: list[PendingToolCall] = []

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [call for step in self.steps for call in step.tool_calls]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [result for step in self.steps for result in step.tool_results]


class ToolCallEvent(msgspec.Struct, frozen=True, tag="tool_call"):
    tool_call: ToolCall


class ToolProgress(msgspec.Struct, frozen=True, tag="tool_progress"):
    tool_call_id: str
    message: str
    data: dict[str, Any] = {}


class ToolResultEvent(msgspec.Struct, frozen=True, tag="tool_result"):
    result: ToolResult
    duration_ms: float = 0.0


class StepFinish(msgspec.Struct, frozen=True, tag="step_finish"):
    step: Step


class AgentFinish(msgspec.Struct, frozen=True, tag="agent_finish"):
    result: AgentResult


AgentEvent: TypeAlias = (
    TextDelta
    | ReasoningDelta
    | ToolCallEvent
    | ToolProgress
    | ToolResultEvent
    | StepFinish
    | AgentFinish
)
