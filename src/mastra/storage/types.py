"""The records storage keeps: threads, messages, resources, workflow runs, and the checks
every backend applies before writing."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, Self, runtime_checkable

import msgspec

from mastra.errors import LeaseLostError, ValidationError
from mastra.messages import Message, Part, Role
from mastra.telemetry import SpanRecord

__all__ = [
    "MAX_MESSAGE_BYTES",
    "TERMINAL_STATUSES",
    "Order",
    "QueueLimits",
    "Resource",
    "RunEvent",
    "RunQueue",
    "ScoreRecord",
    "Storage",
    "StoredMessage",
    "Thread",
    "WorkflowRun",
    "check_id",
    "check_page",
    "check_score",
    "lease_lost",
    "now",
]

Order = Literal["asc", "desc"]
MAX_MESSAGE_BYTES = 4 * 2**20
_ID = re.compile(r"[\w.:@/+=-]{1,256}")


def now() -> datetime:
    return datetime.now(UTC)


def check_id(kind: str, value: object) -> str:
    """Ids are 1-256 characters of letters, digits and ``_ . : @ / + = -``."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValidationError(
            f"invalid {kind} id {value!r}; expected 1-256 letters, digits or _.:@/+=-"
        )
    return value


def lease_lost(key: str) -> LeaseLostError:
    return LeaseLostError(
        f"the lease {key!r} is held by another owner now; this write was refused and "
        "nothing was changed"
    )


def check_page(limit: int, offset: int, order: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValidationError(f"limit must be an integer from 1 to 10000, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset must be an integer >= 0, got {offset!r}")
    if order not in ("asc", "desc"):
        raise ValidationError(f"order must be 'asc' or 'desc', got {order!r}")


class Thread(msgspec.Struct, frozen=True, kw_only=True):
    """A conversation, owned by a resource (a user, an account ...)."""

    id: str
    resource_id: str
    title: str = ""
    metadata: dict[str, Any] = {}
    created_at: datetime = msgspec.field(default_factory=now)
    updated_at: datetime = msgspec.field(default_factory=now)


class StoredMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message kept in a thread. ``importance`` (0..1) guides pruning."""

    id: str
    thread_id: str
    role: Role
    parts: list[Part]
    resource_id: str | None = None
    created_at: datetime = msgspec.field(default_factory=now)
    importance: float = 0.5

    @classmethod
    def of(
        cls,
        message: Message,
        *,
        id: str,
        thread_id: str,
        resource_id: str | None = None,
        importance: float = 0.5,
        created_at: datetime | None = None,
    ) -> StoredMessage:
        return cls(
            id=id,
            thread_id=thread_id,
            role=message.role,
            parts=list(message.parts),
            resource_id=resource_id,
            importance=importance,
            created_at=created_at or now(),
        )

    def to_message(self) -> Message:
        return Message(self.role, list(self.parts))


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """Per-resource state: working memory text and metadata."""

    id: str
    working_memory: str | None = None
    metadata: dict[str, Any] = {}
    updated_at: datetime = msgspec.field(default_factory=now)


class WorkflowRun(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow run's persisted state.

    ``steps`` holds one record per step (its result; written as the step finishes, so a
    write costs that step's output, not the whole run's). A run on a ``queue`` is taken by
    a worker once ``wake_at`` has passed; ``idempotency_key`` is unique per workflow and set
    when the run is enqueued; ``cancel_requested`` is set only by a cancel request.
    """

    workflow_id: str
    run_id: str
    status: str
    snapshot: Any = None
    created_at: datetime = msgspec.field(default_factory=now)
    updated_at: datetime = msgspec.field(default_factory=now)
    steps: dict[str, Any] = {}
    queue: str | None = None
    priority: int = 0
    wake_at: datetime | None = None
    idempotency_key: str | None = None
    cancel_requested: bool = False


class QueueLimits(msgspec.Struct, frozen=True, kw_only=True):
    """A queue's limits across every worker: runs executing at once, and runs started per
    ``per`` seconds (``rate``)."""

    concurrency: int | None = None
    rate: int | None = None
    per: float = 1.0


class RunEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event sent to a run, as storage keeps it until a step takes it."""

    seq: int
    name: str
    data: Any = None


TERMINAL_STATUSES = ("success", "failed", "canceled")


class ScoreRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One score a scorer gave one run, as storage keeps it: from live scoring of an agent
    (``source="live"``) or from ``run_evals`` (``source="eval"``). ``steps`` holds what the
    scorer's preprocess and analyze steps produced."""

    id: str
    scorer_id: str
    score: float
    reason: str | None = None
    run_id: str | None = None
    trace_id: str | None = None
    entity_type: str = "agent"
    entity_id: str | None = None
    source: str = "live"
    input: Any = None
    output: Any = None
    steps: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    created_at: datetime = msgspec.field(default_factory=now)


def check_score(score: ScoreRecord) -> None:
    """Validate a score before it is written."""
    check_id("score", score.id)
    check_id("scorer", score.scorer_id)
    if score.run_id is not None:
        check_id("run", score.run_id)
    value = score.score
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError(f"score {score.id!r} has score {value!r}; expected a finite number")


_PARTS = msgspec.json.Encoder()


def check_message(message: StoredMessage) -> bytes:
    """Validate a message before it is written; returns its encoded parts."""
    check_id("message", message.id)
    check_id("thread", message.thread_id)
    if not 0.0 <= message.importance <= 1.0:
        raise ValidationError(
            f"message {message.id!r} has importance {message.importance}; expected 0..1"
        )
    encoded = _PARTS.encode(message.parts)
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise ValidationError(
            f"message {message.id!r} is {len(encoded)} bytes; the limit is "
            f"{MAX_MESSAGE_BYTES} bytes per message"
        )
    return encoded


@runtime_checkable
class Storage(Protocol):
    """Async storage every backend implements (see docs/storage.md)."""

    async def init(self) -> None: ...

    async def aclose(self) -> None:
        """Release connections and threads (``close()`` is the same; ``async with`` too).
        A closed store opens again if it is used again."""
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def save_thread(self, thread: Thread) -> Thread: ...

    async def get_thread(self, thread_id: str) -> Thread | None: ...

    async def list_threads(
        self, resource_id: str, *, limit: int = 50, offset: int = 0, order: Order = "desc"
    ) -> list[Thread]: ...

    async def update_thread(
        self, thread_id: str, *, title: str | None = None, metadata: dict[str, Any] | None = None
    ) -> Thread: ...

    async def delete_thread(self, thread_id: str) -> None: ...

    async def save_messages(self, messages: list[StoredMessage]) -> None: ...

    async def list_messages(
        self,
        thread_id: str,
        *,
        limit: int = 50,
        offset: int = 0,
        order: Order = "asc",
        last: int | None = None,
    ) -> list[StoredMessage]: ...

    async def list_messages_around(
        self, thread_id: str, message_id: str, *, before: int = 1, after: int = 1
    ) -> list[StoredMessage]: ...

    async def delete_messages(self, message_ids: list[str]) -> None: ...

    async def get_resource(self, resource_id: str) -> Resource | None: ...

    async def save_resource(self, resource: Resource) -> Resource: ...

    async def save_workflow_run(
        self, run: WorkflowRun, *, fence: tuple[str, str] | None = None, release: bool = False
    ) -> None:
        """Insert or replace a run, and insert or replace the records in ``run.steps`` (steps
        not named keep theirs). With ``fence=(lease_key, owner)`` the write happens only
        while ``owner`` holds that lease, atomically with the check; otherwise it raises
        :class:`~mastra.errors.LeaseLostError` and changes nothing. ``release`` gives the
        lease up in the same transaction."""
        ...

    async def save_workflow_steps(
        self,
        workflow_id: str,
        run_id: str,
        steps: dict[str, Any],
        *,
        fence: tuple[str, str] | None = None,
    ) -> None:
        """Insert or replace step records of a stored run, fenced like ``save_workflow_run``."""
        ...

    async def get_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        """The run with every step record."""
        ...

    async def list_workflow_runs(
        self, workflow_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[WorkflowRun]:
        """Runs newest first, each with every step record."""
        ...

    async def save_spans(self, spans: list[SpanRecord]) -> None: ...

    async def save_scores(self, scores: list[ScoreRecord]) -> None:
        """Insert or replace scores (by id); all are validated before any is written."""
        ...

    async def list_scores(
        self,
        *,
        scorer_id: str | None = None,
        run_id: str | None = None,
        entity_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ScoreRecord]:
        """Scores matching every filter given, newest first."""
        ...

    async def list_spans(
        self, *, trace_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[SpanRecord]: ...

    async def acquire_lease(self, key: str, owner: str, ttl: float) -> bool:
        """Hold ``key`` for ``ttl`` seconds if nobody else does (or their lease expired);
        True when ``owner`` now holds it. Atomic across processes and replicas."""
        ...

    async def renew_lease(self, key: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s lease on ``key`` to ``ttl`` seconds from now, only if nobody
        took it since (it may have expired untaken); False once it was taken over or
        released, even if it is free again: a holder that lost it must not get it back."""
        ...

    async def release_lease(self, key: str, owner: str) -> None: ...

    async def kv_get(self, key: str) -> Any: ...

    async def kv_set(self, key: str, value: Any) -> None: ...

    async def kv_delete(self, key: str) -> None: ...


@runtime_checkable
class RunQueue(Protocol):
    """What workflow queues and workers need from a store (SQLite and PostgreSQL have it).

    Every time here is the database's clock, so machines compare leases on one clock.
    """

    async def enqueue_workflow_run(self, run: WorkflowRun, *, delay: float = 0.0) -> WorkflowRun:
        """Insert a run on ``run.queue`` with its ``steps``, due ``delay`` seconds from now;
        with an ``idempotency_key`` the workflow already used, nothing is written and the
        existing run is returned."""
        ...

    async def claim_workflow_runs(
        self,
        owner: str,
        lease_seconds: float,
        *,
        queue: str,
        workflow_ids: list[str],
        limit: int,
        limits: QueueLimits | None = None,
    ) -> list[WorkflowRun]:
        """Take up to ``limit`` runs of ``queue`` that are due (``wake_at`` passed, no live
        lease, not finished), highest priority first, within the queue's ``limits``: each
        one's lease ``workflow:<id>:<run>`` is now held by ``owner`` and it is ``running``.
        Runs another worker is taking at the same moment are skipped, not waited for."""
        ...

    async def request_workflow_cancel(self, workflow_id: str, run_id: str) -> WorkflowRun | None:
        """Mark the run for cancellation (its executor stops it at its next heartbeat)."""
        ...

    async def workflow_run_state(self, workflow_id: str, run_id: str) -> tuple[str, bool] | None:
        """The run's status and whether someone asked to cancel it (a cheap read: no
        snapshot, no steps); None when there is no such run."""
        ...

    async def send_workflow_event(
        self, workflow_id: str, run_id: str, name: str, data: Any
    ) -> WorkflowRun | None:
        """Store an event for the run and wake it if it waits on a queue; the run as it was
        (None when there is no such run; a finished run gets nothing stored)."""
        ...

    async def take_workflow_event(
        self, workflow_id: str, run_id: str, name: str, taker: str, fence: tuple[str, str]
    ) -> RunEvent | None:
        """The event ``taker`` took before, else the oldest untaken one named ``name``, now
        taken by ``taker`` (fenced by the run's lease); None when there is none."""
        ...

    async def delete_workflow_runs(
        self, workflow_id: str, *, before: datetime, statuses: tuple[str, ...]
    ) -> int:
        """Delete runs in ``statuses`` last updated before ``before`` (with their steps and
        events); how many were deleted."""
        ...
