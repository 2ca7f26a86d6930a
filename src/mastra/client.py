"""``MastraClient``: the Python client of a Mastra (or Mastra.py) server, shaped like Mastra's
JS client: ``client.get_agent("weather").generate("...")``, ``.stream(...)``, workflows and
their runs, memory threads, tools and vector stores. Answers are the server's JSON.

>>> async with MastraClient("http://127.0.0.1:4111", api_key="sk-...") as client:
...     answer = await client.get_agent("weather").generate("Coat in Paris?", thread_id="t1")
...     async for chunk in client.get_agent("weather").stream("And in Oslo?"):
...         print(chunk["type"])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import orjson

from mastra.closeable import AsyncCloseable
from mastra.http import HttpClient, RetryPolicy, Timeouts

__all__ = [
    "AgentClient",
    "MastraClient",
    "RunClient",
    "ThreadClient",
    "ToolClient",
    "VectorClient",
    "WorkflowClient",
]

Json = Any


def _segment(value: str) -> str:
    return quote(value, safe="")


def _without_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class MastraClient(AsyncCloseable):
    """A client of a Mastra server at ``base_url`` (``api_key`` is sent as a bearer token).

    Requests are retried like every HttpClient request (5xx, 429, connection errors; never
    other 4xx) and fail with the ``ServiceError`` family, the server's message included.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        prefix: str = "/api",
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        sent = dict(headers or {})
        if api_key:
            sent["Authorization"] = f"Bearer {api_key}"
        options: dict[str, Any] = {"provider": "mastra"}
        if timeouts is not None:
            options["timeouts"] = timeouts
        if retry is not None:
            options["retry"] = retry
        self.http = HttpClient(base_url.rstrip("/") + prefix, sent, **options)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Json:
        return (await self.http.request("GET", path, params=_clean(params))).json()

    async def post(
        self, path: str, body: Json = None, params: Mapping[str, str] | None = None
    ) -> Json:
        answer = await self.http.request("POST", path, json=body or {}, params=_clean(params))
        return answer.json()

    async def send(self, method: str, path: str, body: Json = None, **params: str) -> Json:
        answer = await self.http.request(method, path, json=body, params=_clean(params))
        return answer.json()

    async def records(
        self, path: str, body: Json = None, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Json]:
        """The record-separated JSON chunks of a workflow stream."""
        async with self.http.stream("POST", path, json=body or {}, params=_clean(params)) as got:
            pending = b""
            async for piece in got.content.iter_any():
                pending += piece
                *complete, pending = pending.split(b"\x1e")
                for record in complete:
                    if record.strip():
                        yield orjson.loads(record)
            if pending.strip():
                yield orjson.loads(pending)

    # -- resources ------------------------------------------------------------------------

    async def list_agents(self) -> Json:
        return await self.get("/agents")

    def get_agent(self, agent_id: str) -> AgentClient:
        return AgentClient(self, agent_id)

    async def list_tools(self) -> Json:
        return await self.get("/tools")

    def get_tool(self, tool_id: str) -> ToolClient:
        return ToolClient(self, f"/tools/{_segment(tool_id)}")

    async def list_workflows(self) -> Json:
        return await self.get("/workflows")

    def get_workflow(self, workflow_id: str) -> WorkflowClient:
        return WorkflowClient(self, workflow_id)

    async def list_memory_threads(self, resource_id: str, agent_id: str | None = None) -> Json:
        params = _without_none(resourceId=resource_id, agentId=agent_id)
        return (await self.get("/memory/threads", params))["threads"]

    async def create_memory_thread(
        self,
        resource_id: str,
        *,
        thread_id: str | None = None,
        title: str = "",
        metadata: Mapping[str, Any] | None = None,
        agent_id: str | None = None,
    ) -> Json:
        body = _without_none(
            resourceId=resource_id, threadId=thread_id, title=title, metadata=metadata
        )
        return await self.post("/memory/threads", body, _without_none(agentId=agent_id))

    def get_memory_thread(self, thread_id: str, agent_id: str | None = None) -> ThreadClient:
        return ThreadClient(self, thread_id, agent_id)

    async def save_messages(self, messages: list[Json], agent_id: str | None = None) -> Json:
        body = {"messages": messages}
        return await self.post("/memory/save-messages", body, _without_none(agentId=agent_id))

    def get_vector(self, name: str) -> VectorClient:
        return VectorClient(self, name)

    async def list_scores(self, **filters: str) -> Json:
        return (await self.get("/scores", filters))["scores"]


def _clean(params: Mapping[str, str] | None) -> dict[str, str] | None:
    return {k: str(v) for k, v in params.items() if v is not None} if params else None


def _run_body(
    messages: Any,
    thread_id: str | None,
    resource_id: str | None,
    max_steps: int | None,
    run_id: str | None,
    request_context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    memory = _without_none(thread=thread_id, resource=resource_id)
    return _without_none(
        messages=messages,
        memory=memory or None,
        maxSteps=max_steps,
        runId=run_id,
        requestContext=dict(request_context) if request_context else None,
    )


class AgentClient:
    """One agent of the server."""

    def __init__(self, client: MastraClient, agent_id: str) -> None:
        self.client, self.id = client, agent_id
        self.path = f"/agents/{_segment(agent_id)}"

    async def details(self) -> Json:
        return await self.client.get(self.path)

    async def generate(
        self,
        messages: str | list[Json],
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        max_steps: int | None = None,
        run_id: str | None = None,
        request_context: Mapping[str, Any] | None = None,
    ) -> Json:
        """Run to the end; Mastra's full output (``text``, ``toolCalls``, ``usage`` ...)."""
        body = _run_body(messages, thread_id, resource_id, max_steps, run_id, request_context)
        return await self.client.post(self.path + "/generate", body)

    async def stream(
        self,
        messages: str | list[Json],
        *,
        thread_id: str | None = None,
        resource_id: str | None = None,
        max_steps: int | None = None,
        run_id: str | None = None,
        request_context: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Json]:
        """The run's chunks (``start`` ... ``text-delta`` ... ``finish``), as they come."""
        body = _run_body(messages, thread_id, resource_id, max_steps, run_id, request_context)
        async for event in self.client.http.stream_sse("POST", self.path + "/stream", json=body):
            if event.data == "[DONE]":
                return
            yield orjson.loads(event.data)

    def get_tool(self, tool_id: str) -> ToolClient:
        return ToolClient(self.client, f"{self.path}/tools/{_segment(tool_id)}")


class ToolClient:
    """One tool (of the registry, or of an agent)."""

    def __init__(self, client: MastraClient, path: str) -> None:
        self.client, self.path = client, path

    async def details(self) -> Json:
        return await self.client.get(self.path)

    async def execute(self, data: Mapping[str, Any], *, run_id: str | None = None) -> Json:
        """Run the tool with ``data`` as its arguments; its result."""
        params = _without_none(runId=run_id)
        return await self.client.post(self.path + "/execute", {"data": dict(data)}, params)


class WorkflowClient:
    """One workflow of the server."""

    def __init__(self, client: MastraClient, workflow_id: str) -> None:
        self.client, self.id = client, workflow_id
        self.path = f"/workflows/{_segment(workflow_id)}"

    async def details(self) -> Json:
        return await self.client.get(self.path)

    async def create_run(self, run_id: str | None = None) -> RunClient:
        made = await self.client.post(self.path + "/create-run", None, {"runId": run_id or ""})
        return RunClient(self, made["runId"])

    def run(self, run_id: str) -> RunClient:
        """An existing run, by id."""
        return RunClient(self, run_id)

    async def runs(self, **filters: str) -> Json:
        return await self.client.get(self.path + "/runs", filters)

    async def run_by_id(self, run_id: str) -> Json:
        return await self.client.get(f"{self.path}/runs/{_segment(run_id)}")


class RunClient:
    """One run of a workflow."""

    def __init__(self, workflow: WorkflowClient, run_id: str) -> None:
        self.workflow, self.run_id = workflow, run_id
        self.params = {"runId": run_id}

    async def start(self, input_data: Any = None) -> Json:
        """Start and wait until the run stops; Mastra's ``WorkflowResult``."""
        body = {"inputData": input_data}
        return await self.workflow.client.post(
            self.workflow.path + "/start-async", body, self.params
        )

    async def resume(self, step: str | list[str] | None = None, resume_data: Any = None) -> Json:
        """Resume a suspended step and wait until the run stops again."""
        body = _without_none(step=step, resumeData=resume_data)
        return await self.workflow.client.post(
            self.workflow.path + "/resume-async", body, self.params
        )

    def stream(self, input_data: Any = None) -> AsyncIterator[Json]:
        """Start; the run's chunks (``workflow-start`` ... ``workflow-finish``)."""
        body = {"inputData": input_data}
        return self.workflow.client.records(self.workflow.path + "/stream", body, self.params)

    def resume_stream(
        self, step: str | None = None, resume_data: Any = None
    ) -> AsyncIterator[Json]:
        body = _without_none(step=step, resumeData=resume_data)
        return self.workflow.client.records(
            self.workflow.path + "/resume-stream", body, self.params
        )

    async def cancel(self) -> Json:
        path = f"{self.workflow.path}/runs/{_segment(self.run_id)}/cancel"
        return await self.workflow.client.post(path)


class ThreadClient:
    """One memory thread (``agent_id`` picks that agent's memory)."""

    def __init__(self, client: MastraClient, thread_id: str, agent_id: str | None) -> None:
        self.client = client
        self.path = f"/memory/threads/{_segment(thread_id)}"
        self.params = _without_none(agentId=agent_id)

    async def get(self) -> Json:
        return await self.client.get(self.path, self.params)

    async def update(
        self, *, title: str | None = None, metadata: Mapping[str, Any] | None = None
    ) -> Json:
        body = _without_none(title=title, metadata=dict(metadata) if metadata else None)
        return await self.client.send("PATCH", self.path, body, **self.params)

    async def delete(self) -> Json:
        return await self.client.send("DELETE", self.path, None, **self.params)

    async def messages(self, *, page: int = 0, per_page: int = 40) -> Json:
        params = {**self.params, "page": str(page), "perPage": str(per_page)}
        return (await self.client.get(self.path + "/messages", params))["messages"]


class VectorClient:
    """One vector store of the server."""

    def __init__(self, client: MastraClient, name: str) -> None:
        self.client, self.path = client, f"/vector/{_segment(name)}"

    async def indexes(self) -> list[str]:
        indexes: list[str] = (await self.client.get(self.path + "/indexes"))["indexes"]
        return indexes

    async def details(self, index: str) -> Json:
        return await self.client.get(f"{self.path}/indexes/{_segment(index)}")

    async def create_index(self, index: str, dimension: int, metric: str = "cosine") -> Json:
        body = {"indexName": index, "dimension": dimension, "metric": metric}
        return await self.client.post(self.path + "/create-index", body)

    async def upsert(
        self,
        index: str,
        vectors: list[list[float]],
        metadata: list[dict[str, Any]] | None = None,
        ids: list[str] | None = None,
    ) -> list[str]:
        body = _without_none(indexName=index, vectors=vectors, metadata=metadata, ids=ids)
        made: list[str] = await self.client.post(self.path + "/upsert", body)
        return made

    async def query(
        self,
        index: str,
        vector: list[float],
        top_k: int = 10,
        filter: Mapping[str, Any] | None = None,
        include_vector: bool = False,
    ) -> Json:
        body = _without_none(
            indexName=index,
            queryVector=vector,
            topK=top_k,
            filter=dict(filter) if filter else None,
            includeVector=include_vector,
        )
        return await self.client.post(self.path + "/query", body)

    async def delete(self, index: str) -> Json:
        return await self.client.send("DELETE", f"{self.path}/indexes/{_segment(index)}")
