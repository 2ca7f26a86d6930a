"""Human in the loop: tool calls that wait for approval, tools that suspend, and continuing
a suspended run from this or another process (exactly one of two concurrent approvals
proceeds, and the tool runs once)."""

import json
import os
import subprocess
import sys
import time

import pytest

from mastra.agent import Agent, AgentFinish, ResumeError, ToolCallEvent
from mastra.llm import ModelResponse
from mastra.llm.testing import FunctionModel
from mastra.memory import Memory
from mastra.messages import Message, ToolCall
from mastra.storage import InMemoryStorage
from mastra.tools import ToolContext, tool
from mastra.vector import InMemoryVector
from tests.agent.approval_app import make_agent

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def asking(*calls, then=None):
    """A model asking for ``calls`` (name, arguments) first, then answering with the tool
    results (or ``then``)."""

    def answer(request):
        last = request.messages[-1]
        if last.role == "tool":
            return then or "; ".join(f"{r.name}={r.content}" for r in last.tool_results)
        made = [ToolCall(f"c{i}", name, args) for i, (name, args) in enumerate(calls)]
        return ModelResponse(message=Message.assistant(None, made), finish_reason="tool_calls")

    return FunctionModel(answer)


def counted():
    ran = []

    @tool(requires_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return f"deleted {path}"

    @tool
    def stat(path: str) -> int:
        """Size of a file."""
        ran.append(f"stat {path}")
        return 42

    return ran, delete_file, stat


async def test_a_call_waits_for_approval_then_the_run_goes_on():
    ran, delete_file, _ = counted()
    mem = Memory(InMemoryStorage(), InMemoryVector())
    agent = Agent(
        "ops", model=asking(("delete_file", {"path": "/tmp/x"})), tools=[delete_file], memory=mem
    )
    result = await agent.generate("clean up", thread_id="t", resource_id="u")
    assert result.status == "suspended" and result.finish_reason == "suspended"
    [pending] = result.pending_tool_calls
    assert pending.kind == "approval" and pending.tool_call.name == "delete_file"
    assert ran == [] and await mem.storage.get_thread("t") is None  # nothing saved yet

    done = await agent.approve(result.run_id, pending.tool_call.id)
    assert done.status == "completed" and done.text == "delete_file=deleted /tmp/x"
    assert ran == ["/tmp/x"] and done.run_id == result.run_id
    assert [s.index for s in done.steps] == [0, 1]
    saved = [m.to_message() for m in await mem.storage.list_messages("t")]
    assert [m.role for m in saved] == ["user", "assistant", "tool", "assistant"]

    with pytest.raises(ResumeError, match="is completed, not suspended"):
        await agent.approve(result.run_id, pending.tool_call.id)


async def test_decline_tells_the_model_and_never_runs_the_tool():
    ran, delete_file, _ = counted()
    agent = Agent("ops", model=asking(("delete_file", {"path": "/"})), tools=[delete_file])
    result = await agent.generate("clean up")
    done = await agent.decline(result.run_id, "c0", "not the root")
    assert ran == []
    [declined] = done.steps[0].tool_results
    assert declined.is_error and "declined this tool call: not the root" in declined.content


async def test_parallel_calls_are_decided_one_by_one_and_others_run_at_once():
    ran, delete_file, stat = counted()
    model = asking(
        ("delete_file", {"path": "a"}), ("stat", {"path": "b"}), ("delete_file", {"path": "c"})
    )
    agent = Agent("ops", model=model, tools=[delete_file, stat])
    result = await agent.generate("go")
    assert ran == ["stat b"]  # calls that need no approval ran already
    assert [p.tool_call.id for p in result.pending_tool_calls] == ["c0", "c2"]
    waiting = await agent.approve(result.run_id, "c2")
    assert waiting.status == "suspended" and [
        p.tool_call.id for p in waiting.pending_tool_calls
    ] == ["c0"]
    assert ran == ["stat b"]
    with pytest.raises(ResumeError, match=r"'c2' of run .* was already approved"):
        await agent.decline(result.run_id, "c2")
    with pytest.raises(ResumeError, match="no pending tool call 'c9'; waiting: c0"):
        await agent.approve(result.run_id, "c9")
    done = await agent.decline(result.run_id, "c0")
    assert ran == ["stat b", "c"]
    assert [r.tool_call_id for r in done.steps[0].tool_results] == ["c0", "c1", "c2"]
    assert done.text.startswith("delete_file=The user declined")


async def test_require_tool_approval_and_streaming():
    ran, _, stat = counted()
    agent = Agent(
        "ops", model=asking(("stat", {"path": "x"})), tools=[stat], require_tool_approval=True
    )
    events = [e async for e in agent.stream("size?")]
    assert [type(e) for e in events] == [ToolCallEvent, AgentFinish]
    result = events[-1].result
    assert result.status == "suspended" and ran == []
    assert (await agent.approve(result.run_id, "c0")).text == "stat=42"


def test_sync_twins():
    _, _, stat = counted()
    agent = Agent(
        "ops", model=asking(("stat", {"path": "x"})), tools=[stat], require_tool_approval=True
    )
    for answer in (agent.approve_sync, agent.decline_sync):
        result = agent.generate_sync("size?")
        assert answer(result.run_id, "c0").status == "completed"


async def test_a_tool_can_suspend_and_be_resumed_with_data():
    attempts = []

    @tool
    async def book(city: str, ctx: ToolContext) -> str:
        """Book a hotel, asking the user which one first."""
        attempts.append(ctx.resume_data)
        if ctx.resume_data is None:
            await ctx.suspend({"question": f"Which hotel in {city}?", "options": ["A", "B"]})
        return f"booked {ctx.resume_data['hotel']} in {city}"

    agent = Agent("travel", model=asking(("book", {"city": "Oslo"})), tools=[book])
    result = await agent.generate("book me a hotel")
    [pending] = result.pending_tool_calls
    assert pending.kind == "suspend" and pending.payload["options"] == ["A", "B"]
    with pytest.raises(ResumeError, match=r"waits for agent.resume\(run_id, data\), not approve"):
        await agent.approve(result.run_id, "c0")
    done = await agent.resume(result.run_id, {"hotel": "B"})
    assert done.text == "book=booked B in Oslo"
    assert attempts == [None, {"hotel": "B"}]


async def test_unknown_runs_and_calls_are_clear_errors():
    agent = Agent("ops", model=asking(), storage=InMemoryStorage())
    with pytest.raises(ResumeError, match="agent 'ops' has no run 'nope'"):
        await agent.approve("nope", "c0")
    with pytest.raises(ResumeError, match="no run"):
        await agent.resume("nope", {})


def test_two_processes_approving_at_once_exactly_one_proceeds(tmp_path):
    db, log = tmp_path / "runs.db", tmp_path / "ran.log"
    agent = make_agent(db, log)
    first = agent.generate_sync("send 100")
    assert first.status == "suspended"
    call = first.pending_tool_calls[0].tool_call.id
    start = str(time.time() + 3)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.agent.approval_app",
                str(db),
                str(log),
                first.run_id,
                call,
                start,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        finished = [worker.communicate(timeout=60) for worker in workers]
    finally:  # a failure leaves no process running (nor its pipes open)
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.communicate()
    outputs = []
    for worker, (out, err) in zip(workers, finished, strict=True):
        assert worker.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    completed = [o for o in outputs if o.get("status") == "completed"]
    refused = [o for o in outputs if o.get("error") == "ResumeError"]
    assert len(completed) == 1 and len(refused) == 1, outputs
    assert completed[0]["text"] == "done: sent 100"
    assert "being continued by another process" in refused[0]["message"] or (
        "is completed, not suspended" in refused[0]["message"]
    )
    assert len(log.read_text().splitlines()) == 1  # the tool ran once
