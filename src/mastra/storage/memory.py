"""``InMemoryStorage``: the Storage protocol in process memory (tests, ephemeral apps)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from mastra.closeable import AsyncCloseable
from mastra.errors import NotFoundError, StorageError, ValidationError
from mastra.storage.types import (
    Order,
    Resource,
    ScoreRecord,
    StoredMessage,
    Thread,
    WorkflowRun,
    check_id,
    check_message,
    check_page,
    check_score,
    lease_lost,
    now,
)
from mastra.telemetry import SpanRecord

__all__ = ["InMemoryStorage"]


def _page(
    items: list[Any], key: Callable[[Any], Any], limit: int, offset: int, order: str
) -> list[Any]:
    ordered = sorted(items, key=key, reverse=order == "desc")
    return ordered[offset : offset + limit]


class InMemoryStorage(AsyncCloseable):
    """Storage in dictionaries; values are copied in and out, like a database would."""

    def __init__(self) -> None:
        self._threads: dict[str, Thread] = {}
        self._messages: dict[str, tuple[int, StoredMessage]] = {}  # id -> (sequence, message)
        self._sequence = 0
        self._resources: dict[str, Resource] = {}
        self._runs: dict[tuple[str, str], WorkflowRun] = {}
        self._spans: dict[str, SpanRecord] = {}
        self._scores: dict[str, ScoreRecord] = {}
        self._kv: dict[str, bytes] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}

    async def init(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def save_thread(self, thread: Thread) -> Thread:
        check_id("thread", thread.id)
        check_id("resource", thread.resource_id)
        existing = self._threads.get(thread.id)
        stored = (
            thread
            if existing is None
            else msgspec.structs.replace(thread, created_at=existing.created_at)
        )
        self._threads[thread.id] = stored
        return thread

    async def get_thread(self, thread_id: str) -> Thread | None:
        return self._threads.get(thread_id)

    async def list_threads(
        self, resource_id: str, *, limit: int = 50, offset: int = 0, order: Order = "desc"
    ) -> list[Thread]:
        check_page(limit, offset, order)
        mine = [t for t in self._threads.values() if t.resource_id == resource_id]
        return _page(mine, lambda t: (t.updated_at, t.id), limit, offset, order)

    async def update_thread(
        self, thread_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Thread:
        current = self._threads.get(thread_id)
        if current is None:
            raise NotFoundError(f"no thread {thread_id!r}")
        updated = msgspec.structs.replace(
            current,
            title=current.title if title is None else title,
            metadata=current.metadata if metadata is None else metadata,
            updated_at=now(),
        )
        self._threads[thread_id] = updated
        return updated

    async def delete_thread(self, thread_id: str) -> None:
        self._threads.pop(thread_id, None)
        for message_id in [i for i, (_, m) in self._messages.items() if m.thread_id == thread_id]:
            del self._messages[message_id]

    async def save_messages(self, messages: list[StoredMessage]) -> None:
        for message in messages:  # validate everything before writing anything
            check_message(message)
            if message.thread_id not in self._threads:
                raise StorageError(
                    f"cannot save messages to a thread that does not exist "
                    f"({message.thread_id!r}); save the thread first"
                )
        for message in messages:
            previous = self._messages.get(message.id)
            if previous is None:
                self._sequence += 1
                sequence = self._sequence
            else:
                sequence = previous[0]
                message = msgspec.structs.replace(
                    message, created_at=previous[1].created_at, resource_id=previous[1].resource_id
                )
            self._messages[message.id] = (sequence, message)
            thread = self._threads[message.thread_id]
            if thread.updated_at < message.created_at:
                self._threads[thread.id] = msgspec.structs.replace(
                    thread, updated_at=message.created_at
                )

    async def list_messages(
        self,
        thread_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        order: Order = "asc",
        last: int | None = None,
    ) -> list[StoredMessage]:
        check_page(last if last is not None else limit, offset, order)
        mine = [
            (m.created_at, seq, m) for seq, m in self._messages.values() if m.thread_id == thread_id
        ]
        mine.sort(key=lambda item: (item[0], item[1]))
        if last is not None:
            return [m for _, _, m in mine[-last:]] if last else []
        if order == "desc":
            mine.reverse()
        return [m for _, _, m in mine[offset : offset + limit]]

    async def list_messages_around(
        self, thread_id: str, message_id: str, *, before: int = 1, after: int = 1
    ) -> list[StoredMessage]:
        check_page(before + 1, 0, "asc")
        check_page(after + 1, 0, "asc")
        ordered = await self.list_messages(thread_id, limit=10_000)
        ids = [m.id for m in ordered]
        if message_id not in ids:
            return []
        at = ids.index(message_id)
        return ordered[max(at - before, 0) : at + after + 1]

    async def delete_messages(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            self._messages.pop(message_id, None)

    async def get_resource(self, resource_id: str) -> Resource | None:
        return self._resources.get(resource_id)

    async def save_resource(self, resource: Resource) -> Resource:
        check_id("resource", resource.id)
        self._resources[resource.id] = resource
        return resource

    async def save_workflow_run(
        self, run: WorkflowRun, *, fence: tuple[str, str] | None = None, release: bool = False
    ) -> None:
        check_id("workflow", run.workflow_id)
        check_id("run", run.run_id)
        self._check_fence(fence)
        if release and fence is not None:
            await self.release_lease(*fence)
        existing = self._runs.get((run.workflow_id, run.run_id))
        steps = dict(existing.steps) if existing is not None else {}
        steps.update(run.steps)
        if existing is not None:  # as the databases do: these two are not an executor's
            run = msgspec.structs.replace(
                run,
                created_at=existing.created_at,
                idempotency_key=existing.idempotency_key,
                cancel_requested=existing.cancel_requested,
            )
        self._runs[(run.workflow_id, run.run_id)] = msgspec.json.decode(
            msgspec.json.encode(msgspec.structs.replace(run, steps=steps)), type=WorkflowRun
        )

    async def save_workflow_steps(
        self,
        workflow_id: str,
        run_id: str,
        steps: dict[str, Any],
        *,
        fence: tuple[str, str] | None = None,
    ) -> None:
        existing = self._runs.get((workflow_id, run_id))
        if existing is None:
            raise StorageError(f"no run {run_id!r} of {workflow_id!r} to record steps of")
        self._check_fence(fence)
        copied = msgspec.json.decode(msgspec.json.encode(steps))
        self._runs[(workflow_id, run_id)] = msgspec.structs.replace(
            existing, steps={**existing.steps, **copied}
        )

    def _check_fence(self, fence: tuple[str, str] | None) -> None:
        if fence is not None and self._leases.get(fence[0], ("", None))[0] != fence[1]:
            raise lease_lost(fence[0])

    async def get_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        return self._runs.get((workflow_id, run_id))

    async def list_workflow_runs(
        self, workflow_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[WorkflowRun]:
        check_page(limit, offset, "desc")
        mine = [
            r
            for (w, _), r in self._runs.items()
            if w == workflow_id and (status is None or r.status == status)
        ]
        return _page(mine, lambda r: (r.created_at, r.run_id), limit, offset, "desc")

    async def save_spans(self, spans: list[SpanRecord]) -> None:
        for span in spans:
            self._spans[span.span_id] = span

    async def list_spans(
        self, *, trace_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[SpanRecord]:
        check_page(limit, offset, "asc")
        mine = [s for s in self._spans.values() if trace_id is None or s.trace_id == trace_id]
        return _page(mine, lambda s: (s.start_ns, s.span_id), limit, offset, "asc")

    async def save_scores(self, scores: list[ScoreRecord]) -> None:
        for score in scores:  # validate everything before writing anything
            check_score(score)
        for score in scores:
            self._scores[score.id] = msgspec.json.decode(
                msgspec.json.encode(score), type=ScoreRecord
            )

    async def list_scores(
        self,
        *,
        scorer_id: str | None = None,
        run_id: str | None = None,
        entity_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ScoreRecord]:
        check_page(limit, offset, "desc")
        mine = [
            s
            for s in self._scores.values()
            if (scorer_id is None or s.scorer_id == scorer_id)
            and (run_id is None or s.run_id == run_id)
            and (entity_id is None or s.entity_id == entity_id)
        ]
        return _page(mine, lambda s: (s.created_at, s.id), limit, offset, "desc")

    async def acquire_lease(self, key: str, owner: str, ttl: float) -> bool:
        moment = now()
        holder = self._leases.get(key)
        if holder is None or holder[1] < moment or holder[0] == owner:
            self._leases[key] = (owner, moment + timedelta(seconds=ttl))
            return True
        return False

    async def renew_lease(self, key: str, owner: str, ttl: float) -> bool:
        if self._leases.get(key, ("", None))[0] != owner:
            return False
        self._leases[key] = (owner, now() + timedelta(seconds=ttl))
        return True

    async def release_lease(self, key: str, owner: str) -> None:
        if self._leases.get(key, ("", None))[0] == owner:
            del self._leases[key]

    async def kv_get(self, key: str) -> Any:
        raw = self._kv.get(key)
        return msgspec.json.decode(raw) if raw is not None else None

    async def kv_set(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"keys are non-empty strings, got {key!r}")
        try:
            self._kv[key] = msgspec.json.encode(value)
        except TypeError as exc:
            raise ValidationError(f"value for {key!r} is not JSON: {exc}") from None

    async def kv_delete(self, key: str) -> None:
        self._kv.pop(key, None)
