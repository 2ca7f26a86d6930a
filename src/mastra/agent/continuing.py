"""Suspending a run on pending tool calls, and continuing it (approve, decline, resume)
from this or another process: the part of :class:`~mastra.agent.Agent` that keeps runs in
storage."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from mastra.agent.durable import Decision, RunRecords, Saved, decide
from mastra.agent.results import AgentEvent, AgentFinish, AgentResult, PendingToolCall, StepFinish
from mastra.agent.run import ContinueOptions, RunContext, RunState, Suspend, call, final
from mastra.messages import ToolCall, ToolResult
from mastra.storage import InMemoryStorage
from mastra.tools.tool import AbortSignal

if TYPE_CHECKING:
    from mastra.agent.agent import Agent

__all__ = ["answer", "continue_run", "in_order", "run_records", "suspend", "waiting"]


def run_records(agent: Agent) -> RunRecords:
    storage = agent.storage
    if storage is None and agent.memory is not None:
        storage = agent.memory.storage
    if storage is None:
        if agent._own_storage is None:
            agent._own_storage = InMemoryStorage()
        storage = agent._own_storage
    return RunRecords(storage, agent.name, agent.approval_lease_seconds)


async def suspend(agent: Agent, state: RunState, pause: Suspend) -> AgentResult:
    """Store the run with its pending calls and return the suspended result."""
    run = state.run
    saved = Saved(
        thread_id=run.thread_id,
        resource_id=run.resource_id,
        context=run.context,
        limit=state.limit,
        read_only=state.read_only,
        messages=state.messages,
        first_new=state.first_new,
        steps=state.steps,
        usage=state.usage,
        delegations=state.delegations,
        request=pause.request,
        response=pause.response,
        elapsed_ms=pause.elapsed_ms,
        results=pause.results,
        pending=pause.pending,
    )
    records = run_records(agent)
    if state.store is not None:
        await records.save_saved(state.store, "suspended", saved)
    else:
        await records.save_new(run.run_id, saved)
    return waiting(run.run_id, saved)


def waiting(run_id: str, saved: Saved) -> AgentResult:
    return AgentResult(
        text="",
        steps=saved.steps,
        usage=saved.usage,
        finish_reason="suspended",
        run_id=run_id,
        messages=saved.messages[saved.first_new :],
        status="suspended",
        pending_tool_calls=saved.undecided(),
    )


async def answer(
    agent: Agent,
    run_id: str,
    call_id: str | None,
    decision: Decision,
    options: ContinueOptions,
) -> AgentResult:
    return await final(continue_run(agent, run_id, call_id, decision, options))


async def continue_run(
    agent: Agent,
    run_id: str,
    call_id: str | None,
    decision: Decision,
    options: ContinueOptions,
) -> AsyncGenerator[AgentEvent, None]:
    """Claim the run's lease, check and record the decision, and (when no call waits
    any more) mark the run running and go on from its pending step."""
    records = run_records(agent)
    store = records.store(run_id)
    lost = AbortSignal()
    if not await store.claim(
        lambda: lost.abort("this process lost the run's lease"),
        lambda: lost.abort("the run was canceled"),
    ):
        raise records.busy(run_id)
    try:
        saved = await records.load(store)
        decide(saved, run_id, call_id, decision)
        if saved.undecided():
            await records.save_saved(store, "suspended", saved)
            result = waiting(run_id, saved)
            await call(options.get("on_finish"), result)
            yield AgentFinish(result)
            return
        await records.save_saved(store, "running", saved)
        state = restored(agent, run_id, saved, options)
        state.store = store
        opening = resume_step(agent, state, saved)
        signals = (options.get("abort_signal"), lost)
        try:
            async for event in agent._drive(state, False, opening, *signals):
                if isinstance(event, AgentFinish) and event.result.status == "completed":
                    summary = {"text": event.result.text, "finish": event.result.finish_reason}
                    await records.save(store, "completed", summary)
                yield event
        except BaseException as exc:
            status = "failed" if isinstance(exc, Exception) else "canceled"
            with contextlib.suppress(Exception):
                await records.save(store, status, {"error": f"{type(exc).__name__}: {exc}"})
            raise
    finally:
        await store.release()


def restored(agent: Agent, run_id: str, saved: Saved, options: ContinueOptions) -> RunState:
    run = RunContext(
        agent=agent.name,
        run_id=run_id,
        thread_id=saved.thread_id,
        resource_id=saved.resource_id,
        context=saved.context,
    )
    state = agent._state(run, options, limit=saved.limit, read_only=saved.read_only)
    state.messages, state.first_new = saved.messages, saved.first_new
    state.steps, state.usage = saved.steps, saved.usage
    state.delegations = saved.delegations
    own = saved.messages[saved.first_new : saved.first_new + 1]
    state.prompt = own[0].text if own else None
    return state


async def resume_step(
    agent: Agent, state: RunState, saved: Saved
) -> AsyncGenerator[AgentEvent, None]:
    """Finish the step the run suspended in: declined calls get an error result, the
    approved ones run, suspended tools run again with their resume data."""
    assert saved.request is not None and saved.response is not None
    results = dict(saved.results)
    runnable: list[ToolCall] = []
    resume: dict[str, Any] = {}
    for waiting in saved.pending:
        call, decision = waiting.tool_call, saved.decisions[waiting.tool_call.id]
        if decision.kind == "decline":
            results[call.id] = ToolResult(call.id, call.name, _declined(decision), True)
            continue
        runnable.append(call)
        if decision.kind == "resume":
            resume[call.id] = decision.data
    started = time.perf_counter() - saved.elapsed_ms / 1000
    pending: list[PendingToolCall] = []
    async for event in agent._run_tools(runnable, state, resume, results, pending):
        yield event
    calls = saved.response.message.tool_calls
    if pending:
        elapsed = (time.perf_counter() - started) * 1000
        raise Suspend(saved.request, saved.response, elapsed, results, in_order(calls, pending))
    yield StepFinish(await agent._end_step(state, saved.request, saved.response, results, started))


def in_order(calls: list[ToolCall], pending: list[PendingToolCall]) -> list[PendingToolCall]:
    position = {call.id: index for index, call in enumerate(calls)}
    return sorted(pending, key=lambda p: position.get(p.tool_call.id, len(position)))


def _declined(decision: Decision) -> str:
    reason = f": {decision.reason}" if decision.reason else ""
    return f"The user declined this tool call{reason}. Do not retry it; go on without it."
