"""Workflow routes, as Mastra's server has them: list and details (with the step graph),
create-run, start / start-async, resume / resume-async, stream / resume-stream /
observe-stream (record-separated JSON), watch, cancel, and stored runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
import orjson
from aiohttp import web

from mastra.errors import NotFoundError
from mastra.ids import new_id
from mastra.server import wire
from mastra.server.bodies import ResumeRun, StartRun
from mastra.server.http import HttpError, body, json, query_int, takes
from mastra.server.state import MASTRA, STATE
from mastra.server.streams import open_stream, record
from mastra.workflows import Run, Step, Workflow, WorkflowEvent, WorkflowResult
from mastra.workflows.nodes import Branch, ForEach, Loop, Map, Node, Parallel, Sleep

__all__ = ["add_routes", "describe"]

TERMINAL = ("success", "failed", "canceled")


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    base = f"{prefix}/workflows"
    router.add_get(base, list_workflows)
    router.add_get(base + "/{workflow_id}", get_workflow)
    router.add_post(base + "/{workflow_id}/create-run", create_run)
    router.add_post(base + "/{workflow_id}/start-async", start_async)
    router.add_post(base + "/{workflow_id}/start", start)
    router.add_post(base + "/{workflow_id}/resume-async", resume_async)
    router.add_post(base + "/{workflow_id}/resume", resume)
    router.add_post(base + "/{workflow_id}/stream", stream)
    router.add_post(base + "/{workflow_id}/resume-stream", resume_stream)
    router.add_post(base + "/{workflow_id}/observe-stream", observe_stream)
    router.add_get(base + "/{workflow_id}/watch", observe_stream)
    router.add_get(base + "/{workflow_id}/runs", list_runs)
    router.add_get(base + "/{workflow_id}/runs/{run_id}", get_run)
    router.add_post(base + "/{workflow_id}/runs/{run_id}/cancel", cancel)


# -- describing ----------------------------------------------------------------------------


def _schema(kind: Any) -> str:
    return orjson.dumps(msgspec.json.schema(kind) if kind is not None else {}).decode()


def _step_info(step: Step) -> dict[str, Any]:
    return {
        "id": step.id,
        "description": step.description,
        "inputSchema": _schema(step.input),
        "outputSchema": _schema(step.output),
        "resumeSchema": _schema(step.resume),
        "suspendSchema": _schema(step.suspend),
    }


def _map_info(node: Map) -> dict[str, Any]:
    """A map as Mastra lists its mapping steps: any data in and out."""
    anything = _schema(None)
    return {
        "id": node.id,
        "description": f"map {_fn_name(node)}",
        "inputSchema": anything,
        "outputSchema": anything,
        "resumeSchema": anything,
        "suspendSchema": anything,
    }


def _fn_name(node: Map) -> str:
    return getattr(node.fn, "__name__", "")


def _target(target: Step | Workflow) -> dict[str, Any]:
    if isinstance(target, Step):
        return {"type": "step", "step": {"id": target.id, "description": target.description}}
    return {"type": "step", "step": {"id": target.id, "component": "WORKFLOW"}}


def _graph(node: Node) -> dict[str, Any]:
    """One entry of Mastra's ``stepGraph``."""
    if isinstance(node, Parallel):
        return {"type": "parallel", "steps": [_target(t) for t in node.targets()]}
    if isinstance(node, Branch):
        return {
            "type": "conditional",
            "steps": [_target(t) for t in node.targets()],
            "serializedConditions": [
                {"id": f"{t.id}-condition", "fn": getattr(p, "__name__", "condition")}
                for p, t in node.branches
            ],
        }
    if isinstance(node, Loop):
        return {**_target(node.target), "type": "loop", "loopType": node.kind}
    if isinstance(node, ForEach):
        opts = {"concurrency": node.concurrency}
        return {**_target(node.target), "type": "foreach", "opts": opts}
    if isinstance(node, Map):
        return {
            "type": "step",
            "step": {"id": node.id, "mapConfig": _fn_name(node)},
        }
    if isinstance(node, Sleep):
        if node.until is None:
            return {"type": "sleep", "id": node.id, "duration": int((node.seconds or 0) * 1000)}
        fixed = node.until if isinstance(node.until, datetime) else None
        return {"type": "sleepUntil", "id": node.id, "date": fixed.isoformat() if fixed else None}
    return _target(node.targets()[0])


def _steps(workflow: Workflow, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every step, nested workflows' under ``<workflow id>.<step id>``."""
    found: dict[str, dict[str, Any]] = {}
    for node in workflow.nodes:
        if isinstance(node, Map):
            found[prefix + node.id] = {**_map_info(node), "isWorkflow": False}
        for target in node.targets():
            if isinstance(target, Step):
                found[prefix + target.id] = {**_step_info(target), "isWorkflow": False}
            else:
                found[prefix + target.id] = {
                    "id": target.id,
                    "description": target.description,
                    "inputSchema": _schema(target.input),
                    "outputSchema": _schema(target.output),
                    "isWorkflow": True,
                }
                found.update(_steps(target, f"{prefix}{target.id}."))
    return found


def describe(workflow: Workflow) -> dict[str, Any]:
    """A ``GetWorkflowResponse``."""
    every = _steps(workflow)
    return {
        "name": workflow.id,
        "description": workflow.description,
        "steps": {k: v for k, v in every.items() if "." not in k},
        "allSteps": every,
        "stepGraph": [_graph(node) for node in workflow.nodes],
        "inputSchema": _schema(workflow.input),
        "outputSchema": _schema(workflow.output),
    }


def _workflow(request: web.Request) -> Workflow:
    workflow: Workflow = request.app[MASTRA].get_workflow(request.match_info["workflow_id"])
    return workflow


async def list_workflows(request: web.Request) -> web.Response:
    return json({wid: describe(w) for wid, w in request.app[MASTRA].workflows.items()})


async def get_workflow(request: web.Request) -> web.Response:
    return json(describe(_workflow(request)))


# -- runs ----------------------------------------------------------------------------------


def _run_id(request: web.Request, required: bool) -> str:
    run_id = request.query.get("runId") or request.match_info.get("run_id")
    if run_id:
        return run_id
    if required:
        raise HttpError(400, "validation_error", "runId is required (?runId=...)")
    return new_id()


async def _fresh_run(request: web.Request) -> Run:
    """The run ``?runId`` names (a new one without): the one this server created, else a
    new run under that id."""
    workflow, state = _workflow(request), request.app[STATE]
    run_id = _run_id(request, required=False)
    run = state.runs.get((workflow.id, run_id))
    if run is None or run.status != "pending":
        run = state.remember(workflow.create_run(run_id))
    return run


async def _existing_run(request: web.Request) -> Run:
    """A run this server holds, else the stored one (another process may have started it)."""
    workflow, state = _workflow(request), request.app[STATE]
    run_id = _run_id(request, required=True)
    run = state.runs.get((workflow.id, run_id))
    if run is None or run.status in TERMINAL:
        if workflow.storage is None and run is None:
            raise NotFoundError(f"no run {run_id!r} of workflow {workflow.id!r}")
        if workflow.storage is not None:
            run = state.remember(await workflow.get_run(run_id))
    assert run is not None
    return run


def _resume_args(resume: ResumeRun) -> tuple[str | None, Any]:
    """The step to resume (a path ``["outer", "inner"]`` is our ``outer.inner``) and data."""
    step = ".".join(resume.step) if isinstance(resume.step, list) else resume.step
    return step or None, resume.resume_data


async def create_run(request: web.Request) -> web.Response:
    """A run id to start under (``?runId=`` to choose it)."""
    run = await _fresh_run(request)
    return json({"runId": run.run_id})


@takes(StartRun)
async def start_async(request: web.Request) -> web.Response:
    """Start the run and answer when it stops (success, failed, suspended, canceled)."""
    run, started = await _fresh_run(request), await body(request, StartRun)
    return json(wire.workflow_result(await run.start(started.input_data), run.input))


@takes(StartRun)
async def start(request: web.Request) -> web.Response:
    """Start the run in the background."""
    run, started = await _fresh_run(request), await body(request, StartRun)
    request.app[STATE].spawn(run.start(started.input_data))
    return json({"message": "Workflow run started", "runId": run.run_id})


@takes(ResumeRun)
async def resume_async(request: web.Request) -> web.Response:
    """Resume a suspended run and answer when it stops again."""
    run, resumed = await _existing_run(request), await body(request, ResumeRun)
    return json(wire.workflow_result(await run.resume(*_resume_args(resumed)), run.input))


@takes(ResumeRun)
async def resume(request: web.Request) -> web.Response:
    """Resume a suspended run in the background."""
    run, resumed = await _existing_run(request), await body(request, ResumeRun)
    request.app[STATE].spawn(run.resume(*_resume_args(resumed)))
    return json({"message": "Workflow run resumed", "runId": run.run_id})


async def cancel(request: web.Request) -> web.Response:
    """Cancel a run this server is executing."""
    workflow, state = _workflow(request), request.app[STATE]
    run = state.runs.get((workflow.id, _run_id(request, required=True)))
    if run is None or run.status != "running":
        raise HttpError(404, "not_found", "this server is not running that run")
    run.cancel()
    return json({"message": "Workflow run canceled"})


# -- streams -------------------------------------------------------------------------------


class WorkflowChunks:
    """Our run events as Mastra's workflow stream chunks ``{type, runId, from: "WORKFLOW",
    payload}``; a step's start and result share one ``stepCallId``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._calls: dict[str, str] = {}

    def chunk(self, type: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": type, "runId": self.run_id, "from": "WORKFLOW", "payload": payload}

    def start(self) -> dict[str, Any]:
        return self.chunk("workflow-start", {"runId": self.run_id})

    def convert(self, event: WorkflowEvent) -> dict[str, Any]:
        now = int(time.time() * 1000)
        step = event.step or ""
        call = self._calls.setdefault(step, uuid.uuid4().hex)
        payload = msgspec.to_builtins(event.payload)
        if event.type == "step-start":
            return self.chunk(
                "workflow-step-start",
                {"id": step, "stepCallId": call, "status": "running", "startedAt": now},
            )
        if event.type == "step-finish":
            self._calls.pop(step, None)
            result = {"status": "success", "output": payload, "endedAt": now}
            return self.chunk("workflow-step-result", {"id": step, "stepCallId": call, **result})
        if event.type == "step-suspend":
            suspended = {"status": "suspended", "suspendPayload": payload, "suspendedAt": now}
            return self.chunk(
                "workflow-step-suspended", {"id": step, "stepCallId": call, **suspended}
            )
        if event.type == "step-error":
            self._calls.pop(step, None)
            failed = {"status": "failed", "error": payload, "endedAt": now}
            return self.chunk("workflow-step-result", {"id": step, "stepCallId": call, **failed})
        return self.finish(str(payload))

    def finish(self, status: str) -> dict[str, Any]:
        usage = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}
        return self.chunk(
            "workflow-finish",
            {"workflowStatus": status, "output": {"usage": usage}, "metadata": {}},
        )


async def _events_while(
    run: Run, action: Callable[[], Awaitable[WorkflowResult]] | None
) -> AsyncIterator[WorkflowEvent]:
    """The run's events from now until it finishes, while ``action`` (if any) drives it."""
    events = run.watch()
    task = asyncio.ensure_future(action()) if action is not None else None
    try:
        async for event in events:
            yield event
        if task is not None:
            await task
    finally:
        await events.aclose()
        if task is not None and not task.done():
            task.cancel()  # the client went away mid-stream: the run stops with it
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _stream(
    request: web.Request, run: Run, action: Callable[[], Awaitable[WorkflowResult]] | None
) -> web.StreamResponse:
    response = await open_stream(request, "text/plain; charset=utf-8")
    chunks = WorkflowChunks(run.run_id)
    await response.write(record(chunks.start()))
    if action is None and run.status != "running":  # nothing live to watch: its state
        await response.write(record(chunks.finish(run.status)))
    else:
        async for event in _events_while(run, action):
            await response.write(record(chunks.convert(event)))
    await response.write_eof()
    return response


@takes(StartRun)
async def stream(request: web.Request) -> web.StreamResponse:
    """Start the run; its events as record-separated JSON until it stops."""
    run, started = await _fresh_run(request), await body(request, StartRun)
    return await _stream(request, run, lambda: run.start(started.input_data))


@takes(ResumeRun)
async def resume_stream(request: web.Request) -> web.StreamResponse:
    """Resume the run; its events as record-separated JSON until it stops."""
    run, resumed = await _existing_run(request), await body(request, ResumeRun)
    step, resume_data = _resume_args(resumed)
    return await _stream(request, run, lambda: run.resume(step, resume_data))


async def observe_stream(request: web.Request) -> web.StreamResponse:
    """The events of a run in progress here (or the stored run's state) until it stops."""
    return await _stream(request, await _existing_run(request), None)


# -- stored runs ---------------------------------------------------------------------------


async def list_runs(request: web.Request) -> web.Response:
    workflow = _workflow(request)
    per_page = query_int(request, "perPage", 20, 1, 1000)
    page = query_int(request, "page", 0, 0, 1_000_000)
    status = request.query.get("status") or None
    if workflow.storage is None:
        return json({"runs": [], "total": 0})
    stored = await workflow.storage.list_workflow_runs(
        workflow.id, status=status, limit=per_page + 1, offset=page * per_page
    )
    runs = [wire.workflow_run(Run.restore(workflow, r).snapshot()) for r in stored[:per_page]]
    total = page * per_page + len(stored)
    return json({"runs": runs, "total": total})


async def get_run(request: web.Request) -> web.Response:
    workflow, state = _workflow(request), request.app[STATE]
    run_id = request.match_info["run_id"]
    stored = (
        await workflow.storage.get_workflow_run(workflow.id, run_id)
        if workflow.storage is not None
        else None
    )
    if stored is not None:
        return json(wire.workflow_run(Run.restore(workflow, stored).snapshot()))
    live = state.runs.get((workflow.id, run_id))
    if live is None:
        raise NotFoundError(f"no run {run_id!r} of workflow {workflow.id!r}")
    return json(wire.workflow_run(live.snapshot()))
