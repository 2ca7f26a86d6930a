"""Suspended agent runs in storage: the record of a run waiting for approvals or resume data,
and the checks that let exactly one process continue it.

A run is stored as a workflow-run record (``workflow_id="agent:<name>"``), so it shares the
lease and fenced-write machinery of workflow runs: a process continues a run only while it
holds the run's lease, and it first rewrites the record from ``suspended`` to ``running``
under that lease. A second process (or a second call) finds the lease taken or the record
no longer suspended, and gets a :class:`ResumeError` instead of running the tools again.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import msgspec

from mastra.agent.results import PendingToolCall, Step
from mastra.errors import MastraError, ValidationError
from mastra.llm.types import ModelRequest, ModelResponse
from mastra.messages import Message, ToolResult, Usage
from mastra.storage import Storage, WorkflowRun
from mastra.workflows.persist import RunStore

__all__ = ["Decision", "ResumeError", "RunRecords", "Saved"]

_ID = re.compile(r"[\w.:@/+=-]{1,200}")


class ResumeError(MastraError):
    """A suspended agent run cannot be continued as asked: no such run, the run is not
    suspended (finished, or being continued by another process), no such pending call, a
    call already decided, or the wrong kind of answer (approve a call that waits for resume
    data ...). Nothing was changed."""


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What the caller said about one pending call."""

    kind: Literal["approve", "decline", "resume"]
    reason: str = ""
    data: Any = None


class Saved(msgspec.Struct, kw_only=True):
    """Everything a process needs to continue a suspended run: the conversation so far,
    the finished steps, and the step that waits (its request and response, the results of
    its calls that already ran, the pending calls and the decisions made so far)."""

    thread_id: str | None = None
    resource_id: str | None = None
    context: dict[str, Any] = {}
    limit: int = 5
    read_only: bool = False
    messages: list[Message] = []
    first_new: int = 0
    steps: list[Step] = []
    usage: Usage = Usage()
    delegations: int = 0
    request: ModelRequest | None = None
    response: ModelResponse | None = None
    elapsed_ms: float = 0.0
    results: dict[str, ToolResult] = {}
    pending: list[PendingToolCall] = []
    decisions: dict[str, Decision] = {}

    def undecided(self) -> list[PendingToolCall]:
        return [p for p in self.pending if p.tool_call.id not in self.decisions]


_SAVED = msgspec.json.Decoder(Saved)
_ENCODER = msgspec.json.Encoder()


def _builtins(saved: Saved) -> Any:
    """The record's JSON value (bytes travel as base64 both ways)."""
    try:
        return msgspec.json.decode(_ENCODER.encode(saved))
    except (TypeError, msgspec.EncodeError) as exc:
        raise ValidationError(
            f"cannot store the suspended run: its state is not JSON-serialisable ({exc}); "
            "keep the run's context= values to JSON types"
        ) from None


def _expected(kind: str) -> str:
    return "agent.resume(run_id, data)" if kind == "suspend" else "approve() or decline()"


class RunRecords:
    """The suspended runs of one agent in one storage."""

    def __init__(self, storage: Storage, agent: str, lease_seconds: float) -> None:
        self.storage = storage
        self.agent = agent
        self.lease_seconds = lease_seconds
        self.workflow_id = (
            f"agent:{agent}"
            if _ID.fullmatch(agent)
            else f"agent:#{hashlib.sha256(agent.encode()).hexdigest()[:24]}"
        )

    def record(self, run_id: str, status: str, snapshot: Any) -> WorkflowRun:
        return WorkflowRun(
            workflow_id=self.workflow_id, run_id=run_id, status=status, snapshot=snapshot
        )

    async def save_new(self, run_id: str, saved: Saved) -> None:
        """Store a run that has just suspended (its id is new: nobody else can hold it)."""
        await self.storage.save_workflow_run(self.record(run_id, "suspended", _builtins(saved)))

    def store(self, run_id: str) -> RunStore:
        """The run's lease holder and fenced writer."""
        return RunStore(
            self.storage,
            self.workflow_id,
            run_id,
            durability="sync",
            lease_seconds=self.lease_seconds,
        )

    async def save(self, store: RunStore, status: str, snapshot: Any) -> None:
        """Write the record under the lease ``store`` holds (LeaseLostError otherwise)."""
        record = self.record(store.run_id, status, snapshot)
        await store.save(lambda: record, final=False)  # "sync": written now, lease kept

    async def save_saved(self, store: RunStore, status: str, saved: Saved) -> None:
        await self.save(store, status, _builtins(saved))

    async def load(self, store: RunStore) -> Saved:
        """The suspended run's state; ResumeError when there is none or it is not
        suspended."""
        found = await store.load()
        if found is None:
            raise ResumeError(
                f"agent {self.agent!r} has no run {store.run_id!r} in its storage; only a run "
                "that suspended (its result had status='suspended') can be continued"
            )
        if found.status != "suspended":
            raise ResumeError(
                f"run {store.run_id!r} of agent {self.agent!r} is {found.status}, not "
                "suspended; it was continued already (by this or another process)"
            )
        return _SAVED.decode(_ENCODER.encode(found.snapshot))

    def busy(self, run_id: str) -> ResumeError:
        return ResumeError(
            f"run {run_id!r} of agent {self.agent!r} is being continued by another process "
            "right now; this call changed nothing"
        )


def decide(saved: Saved, run_id: str, call_id: str | None, decision: Decision) -> None:
    """Record ``decision`` for a pending call (the only one waiting for resume data when
    ``call_id`` is None), or raise ResumeError saying what is wrong."""
    waiting = saved.undecided()
    if call_id is None:
        suspended = [p for p in waiting if p.kind == "suspend"]
        if len(suspended) != 1:
            ids = ", ".join(p.tool_call.id for p in suspended) or "none"
            raise ResumeError(
                f"run {run_id!r} has {len(suspended)} tool calls waiting for resume data "
                f"({ids}); name one with call_id="
            )
        call_id = suspended[0].tool_call.id
    pending = next((p for p in saved.pending if p.tool_call.id == call_id), None)
    if pending is None:
        ids = ", ".join(p.tool_call.id for p in waiting) or "none"
        raise ResumeError(f"run {run_id!r} has no pending tool call {call_id!r}; waiting: {ids}")
    if call_id in saved.decisions:
        raise ResumeError(
            f"tool call {call_id!r} of run {run_id!r} was already {saved.decisions[call_id].kind}d"
        )
    allowed = ("resume", "decline") if pending.kind == "suspend" else ("approve", "decline")
    if decision.kind not in allowed:
        raise ResumeError(
            f"tool call {call_id!r} ({pending.tool_call.name}) waits for "
            f"{_expected(pending.kind)}, not {decision.kind}()"
        )
    saved.decisions[call_id] = decision
