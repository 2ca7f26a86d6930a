"""The SQL both database backends share: schema, migrations and every query, written once
with ``?`` placeholders (``?j`` for JSON values) and adapted per dialect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from mastra.errors import StorageError
from mastra.messages import Part
from mastra.storage.types import Resource, ScoreRecord, StoredMessage, Thread, WorkflowRun
from mastra.telemetry import SpanRecord

__all__ = ["MIGRATIONS", "Dialect", "Rows", "from_micros", "pending_migrations", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


class Dialect(msgspec.Struct, frozen=True):
    """How one database spells the few things that differ."""

    name: str
    param: str  # "?" or "%s"
    json_param: str  # "?" or "%s::jsonb"
    json_type: str
    real_type: str
    seq_column: str
    clock: str  # the database's clock in microseconds since the epoch

    def sql(self, text: str) -> str:
        """``?`` placeholders, ``?j`` JSON placeholders and ``{NOW}`` (the database clock:
        leases and queues compare times on one clock, whichever machine asks)."""
        text = text.replace("{NOW}", self.clock)
        return (
            text.replace("?j", self.json_param).replace("?", self.param)
            if (self.param != "?")
            else text.replace("?j", self.json_param)
        )

    def ddl(self, text: str) -> str:
        return text.format(JSON=self.json_type, REAL=self.real_type, SEQ=self.seq_column)


SQLITE = Dialect(
    "sqlite",
    "?",
    "?",
    "TEXT",
    "REAL",
    "seq INTEGER PRIMARY KEY AUTOINCREMENT",
    "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
)
POSTGRES = Dialect(
    "postgres",
    "%s",
    "%s::jsonb",
    "JSONB",
    "DOUBLE PRECISION",
    "seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)",
)

# Forward migrations: version n is the list of statements that takes the schema from n-1 to n.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE mastra_threads (
            id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, title TEXT NOT NULL,
            metadata {JSON} NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)""",
        "CREATE INDEX mastra_threads_resource ON mastra_threads (resource_id, updated_at)",
        """CREATE TABLE mastra_messages (
            {SEQ}, id TEXT NOT NULL UNIQUE,
            thread_id TEXT NOT NULL REFERENCES mastra_threads (id) ON DELETE CASCADE,
            resource_id TEXT, role TEXT NOT NULL, parts {JSON} NOT NULL,
            created_at BIGINT NOT NULL, importance {REAL} NOT NULL)""",
        "CREATE INDEX mastra_messages_thread ON mastra_messages (thread_id, created_at, seq)",
        """CREATE TABLE mastra_resources (
            id TEXT PRIMARY KEY, working_memory TEXT, metadata {JSON} NOT NULL,
            updated_at BIGINT NOT NULL)""",
        """CREATE TABLE mastra_workflow_runs (
            workflow_id TEXT NOT NULL, run_id TEXT NOT NULL, status TEXT NOT NULL,
            snapshot {JSON}, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
            PRIMARY KEY (workflow_id, run_id))""",
        "CREATE INDEX mastra_workflow_runs_status ON mastra_workflow_runs (workflow_id, status)",
        """CREATE TABLE mastra_spans (
            span_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, start_ns BIGINT NOT NULL,
            record {JSON} NOT NULL)""",
        "CREATE INDEX mastra_spans_trace ON mastra_spans (trace_id, start_ns)",
        "CREATE TABLE mastra_kv (key TEXT PRIMARY KEY, value {JSON} NOT NULL)",
    ],
    [
        """CREATE TABLE mastra_leases (
            key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL)""",
    ],
    [
        """CREATE TABLE mastra_scores (
            id TEXT PRIMARY KEY, scorer_id TEXT NOT NULL, run_id TEXT, entity_id TEXT,
            created_at BIGINT NOT NULL, record {JSON} NOT NULL)""",
        "CREATE INDEX mastra_scores_scorer ON mastra_scores (scorer_id, created_at)",
        "CREATE INDEX mastra_scores_run ON mastra_scores (run_id)",
        "CREATE INDEX mastra_scores_entity ON mastra_scores (entity_id, created_at)",
    ],
    [  # workflow runs on queues, step results as their own rows, events
        "ALTER TABLE mastra_workflow_runs ADD COLUMN queue TEXT",
        "ALTER TABLE mastra_workflow_runs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE mastra_workflow_runs ADD COLUMN wake_at BIGINT",
        "ALTER TABLE mastra_workflow_runs ADD COLUMN started_at BIGINT",
        "ALTER TABLE mastra_workflow_runs ADD COLUMN idempotency_key TEXT",
        "ALTER TABLE mastra_workflow_runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0",
        """CREATE UNIQUE INDEX mastra_workflow_runs_idempotency
            ON mastra_workflow_runs (workflow_id, idempotency_key)""",
        """CREATE INDEX mastra_workflow_runs_ready ON mastra_workflow_runs
            (queue, priority DESC, wake_at) WHERE wake_at IS NOT NULL""",
        "CREATE INDEX mastra_workflow_runs_started ON mastra_workflow_runs (queue, started_at)",
        "CREATE INDEX mastra_workflow_runs_queue ON mastra_workflow_runs (queue, status)",
        """CREATE TABLE mastra_workflow_steps (
            workflow_id TEXT NOT NULL, run_id TEXT NOT NULL, step_key TEXT NOT NULL,
            result {JSON} NOT NULL, PRIMARY KEY (workflow_id, run_id, step_key),
            FOREIGN KEY (workflow_id, run_id) REFERENCES mastra_workflow_runs
                (workflow_id, run_id) ON DELETE CASCADE)""",
        """CREATE TABLE mastra_workflow_events (
            {SEQ}, workflow_id TEXT NOT NULL, run_id TEXT NOT NULL, name TEXT NOT NULL,
            data {JSON}, taken_by TEXT, created_at BIGINT NOT NULL,
            FOREIGN KEY (workflow_id, run_id) REFERENCES mastra_workflow_runs
                (workflow_id, run_id) ON DELETE CASCADE)""",
        """CREATE INDEX mastra_workflow_events_run
            ON mastra_workflow_events (workflow_id, run_id, name, seq)""",
    ],
]


def pending_migrations(version: int, dialect: Dialect) -> list[tuple[int, list[str]]]:
    """The migrations a database at schema ``version`` still needs, as (number, statements)
    in order; StorageError when it is newer than this code."""
    if version > len(MIGRATIONS):
        raise StorageError(
            f"database schema version {version} is newer than this mastra ({len(MIGRATIONS)}); "
            "upgrade mastra"
        )
    return [
        (number, [dialect.ddl(statement) for statement in statements])
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1)
    ]


_ENCODE = msgspec.json.Encoder()
_PARTS = msgspec.json.Decoder(list[Part])
_SPAN = msgspec.json.Decoder(SpanRecord)
_SCORE = msgspec.json.Decoder(ScoreRecord)

Rows = Sequence[Sequence[Any]]


def encode(value: Any) -> str:
    return _ENCODE.encode(value).decode()


def decode(text: Any) -> Any:
    return msgspec.json.decode(text) if text is not None else None


# -- statements and row mappers, shared by SQLite and PostgreSQL -----------------------------

THREAD_COLUMNS = "id, resource_id, title, metadata, created_at, updated_at"
UPSERT_THREAD = f"""INSERT INTO mastra_threads ({THREAD_COLUMNS}) VALUES (?, ?, ?, ?j, ?, ?)
    ON CONFLICT (id) DO UPDATE SET resource_id = excluded.resource_id, title = excluded.title,
    metadata = excluded.metadata, updated_at = excluded.updated_at"""
MESSAGE_COLUMNS = "id, thread_id, resource_id, role, parts, created_at, importance"
UPSERT_MESSAGE = f"""INSERT INTO mastra_messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?j, ?, ?)
    ON CONFLICT (id) DO UPDATE SET thread_id = excluded.thread_id, role = excluded.role,
    parts = excluded.parts, importance = excluded.importance"""
TOUCH_THREAD = "UPDATE mastra_threads SET updated_at = ? WHERE id = ? AND updated_at < ?"
RESOURCE_COLUMNS = "id, working_memory, metadata, updated_at"
UPSERT_RESOURCE = f"""INSERT INTO mastra_resources ({RESOURCE_COLUMNS}) VALUES (?, ?, ?j, ?)
    ON CONFLICT (id) DO UPDATE SET working_memory = excluded.working_memory,
    metadata = excluded.metadata, updated_at = excluded.updated_at"""
RUN_COLUMNS = (
    "workflow_id, run_id, status, snapshot, created_at, updated_at, queue, priority, wake_at, "
    "idempotency_key, cancel_requested"
)
# A run's own columns; idempotency_key is set once, when a run is enqueued, and
# cancel_requested only by a cancel request, so that an executor's write never undoes one.
RUN_VALUES = "?, ?, ?, ?j, ?, ?, ?, ?, ?, ?, ?"
RUN_CONFLICT = """ON CONFLICT (workflow_id, run_id) DO UPDATE SET status = excluded.status,
    snapshot = excluded.snapshot, updated_at = excluded.updated_at, queue = excluded.queue,
    priority = excluded.priority, wake_at = excluded.wake_at"""
UPSERT_RUN = (
    f"INSERT INTO mastra_workflow_runs ({RUN_COLUMNS}) VALUES ({RUN_VALUES}) {RUN_CONFLICT}"
)
SELECT_RUNS = f"SELECT {RUN_COLUMNS} FROM mastra_workflow_runs WHERE "


def select_steps(workflows: int, runs: int) -> str:
    """The step records of the runs of ``workflows`` ids x ``runs`` ids (placeholders)."""
    return (
        "SELECT workflow_id, run_id, step_key, result FROM mastra_workflow_steps WHERE "
        f"workflow_id IN ({', '.join('?' * workflows)}) AND run_id IN ({', '.join('?' * runs)})"
    )


STEP_COLUMNS = "workflow_id, run_id, step_key, result"
STEP_CONFLICT = "ON CONFLICT (workflow_id, run_id, step_key) DO UPDATE SET result = excluded.result"
UPSERT_STEP = (
    f"INSERT INTO mastra_workflow_steps ({STEP_COLUMNS}) VALUES (?, ?, ?, ?j) {STEP_CONFLICT}"
)
UPSERT_SPAN = """INSERT INTO mastra_spans (span_id, trace_id, start_ns, record)
    VALUES (?, ?, ?, ?j) ON CONFLICT (span_id) DO UPDATE SET record = excluded.record"""
SCORE_COLUMNS = "id, scorer_id, run_id, entity_id, created_at, record"
UPSERT_SCORE = f"""INSERT INTO mastra_scores ({SCORE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?j)
    ON CONFLICT (id) DO UPDATE SET scorer_id = excluded.scorer_id, run_id = excluded.run_id,
    entity_id = excluded.entity_id, created_at = excluded.created_at, record = excluded.record"""
UPSERT_KV = """INSERT INTO mastra_kv (key, value) VALUES (?, ?j)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value"""


def thread_params(t: Thread) -> tuple[Any, ...]:
    return (
        t.id,
        t.resource_id,
        t.title,
        encode(t.metadata),
        to_micros(t.created_at),
        to_micros(t.updated_at),
    )


def thread_of(row: Sequence[Any]) -> Thread:
    return Thread(
        id=row[0],
        resource_id=row[1],
        title=row[2],
        metadata=decode(row[3]),
        created_at=from_micros(row[4]),
        updated_at=from_micros(row[5]),
    )


def message_params(m: StoredMessage, parts: bytes) -> tuple[Any, ...]:
    return (
        m.id,
        m.thread_id,
        m.resource_id,
        m.role,
        parts.decode(),
        to_micros(m.created_at),
        m.importance,
    )


def message_of(row: Sequence[Any]) -> StoredMessage:
    parts = row[4]
    return StoredMessage(
        id=row[0],
        thread_id=row[1],
        resource_id=row[2],
        role=row[3],
        parts=_PARTS.decode(parts),
        created_at=from_micros(row[5]),
        importance=row[6],
    )


def resource_params(r: Resource) -> tuple[Any, ...]:
    return (r.id, r.working_memory, encode(r.metadata), to_micros(r.updated_at))


def resource_of(row: Sequence[Any]) -> Resource:
    return Resource(
        id=row[0], working_memory=row[1], metadata=decode(row[2]), updated_at=from_micros(row[3])
    )


def run_params(r: WorkflowRun) -> tuple[Any, ...]:
    return (
        r.workflow_id,
        r.run_id,
        r.status,
        encode(r.snapshot),
        to_micros(r.created_at),
        to_micros(r.updated_at),
        r.queue,
        r.priority,
        to_micros(r.wake_at) if r.wake_at is not None else None,
        r.idempotency_key,
        int(r.cancel_requested),
    )


def run_of(row: Sequence[Any]) -> WorkflowRun:
    return WorkflowRun(
        workflow_id=row[0],
        run_id=row[1],
        status=row[2],
        snapshot=decode(row[3]),
        created_at=from_micros(row[4]),
        updated_at=from_micros(row[5]),
        queue=row[6],
        priority=row[7],
        wake_at=from_micros(row[8]) if row[8] is not None else None,
        idempotency_key=row[9],
        cancel_requested=bool(row[10]),
    )


def step_rows(workflow_id: str, run_id: str, steps: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The parameters of UPSERT_STEP for each of a run's step records."""
    return [(workflow_id, run_id, key, encode(v)) for key, v in steps.items()]


def span_params(s: SpanRecord) -> tuple[Any, ...]:
    return (s.span_id, s.trace_id, s.start_ns, encode(s))


def span_of(row: Sequence[Any]) -> SpanRecord:
    return _SPAN.decode(row[0])


def score_params(s: ScoreRecord) -> tuple[Any, ...]:
    return (s.id, s.scorer_id, s.run_id, s.entity_id, to_micros(s.created_at), encode(s))


def score_of(row: Sequence[Any]) -> ScoreRecord:
    return _SCORE.decode(row[0])


def messages_query(last: int | None, order: str) -> str:
    if last is not None:
        return (
            f"SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS}, seq FROM "
            "mastra_messages WHERE thread_id = ? ORDER BY created_at DESC, seq DESC "
            "LIMIT ?) AS newest ORDER BY created_at, seq"
        )
    direction = "DESC" if order == "desc" else "ASC"
    return (
        f"SELECT {MESSAGE_COLUMNS} FROM mastra_messages WHERE thread_id = ? "
        f"ORDER BY created_at {direction}, seq {direction} LIMIT ? OFFSET ?"
    )


def around_query() -> str:
    """A message and up to ? messages before and ? after it in its thread, in order."""
    anchor = "(SELECT created_at, seq FROM mastra_messages WHERE id = ? AND thread_id = ?)"
    return (
        f"SELECT {MESSAGE_COLUMNS} FROM ("
        f"SELECT * FROM (SELECT {MESSAGE_COLUMNS}, created_at AS c, seq AS s FROM "
        f"mastra_messages WHERE thread_id = ? AND (created_at, seq) <= {anchor} "
        f"ORDER BY created_at DESC, seq DESC LIMIT ?) AS upto "
        f"UNION ALL "
        f"SELECT * FROM (SELECT {MESSAGE_COLUMNS}, created_at AS c, seq AS s FROM "
        f"mastra_messages WHERE thread_id = ? AND (created_at, seq) > {anchor} "
        f"ORDER BY created_at, seq LIMIT ?) AS later) AS neighbours ORDER BY c, s"
    )


# Take the lease for ? microseconds if it is free, expired, or already ours (one atomic
# upsert, on the database's clock).
ACQUIRE_LEASE = """INSERT INTO mastra_leases (key, owner, expires_at) VALUES (?, ?, {NOW} + ?)
    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
    WHERE mastra_leases.expires_at < {NOW} OR mastra_leases.owner = excluded.owner
    RETURNING owner"""
# Extend a lease (? microseconds) its owner still holds, expired or not; a deleted or taken
# row is not recreated.
RENEW_LEASE = """UPDATE mastra_leases SET expires_at = {NOW} + ? WHERE key = ? AND owner = ?
    RETURNING owner"""
# -- queues: every time on the database's clock ------------------------------------------------

_RUN_LEASE = "'workflow:' || r.workflow_id || ':' || r.run_id"
_UNFINISHED = "r.status NOT IN ('success', 'failed', 'canceled')"
# As UPSERT_RUN's values, but wake_at is a delay in microseconds from the database's now.
ENQUEUE_RUN = f"""INSERT INTO mastra_workflow_runs ({RUN_COLUMNS})
    VALUES (?, ?, ?, ?j, ?, ?, ?, ?, {{NOW}} + ?, ?, ?) ON CONFLICT DO NOTHING
    RETURNING {RUN_COLUMNS}"""


def enqueue_with_steps(steps: int) -> str:
    """PostgreSQL: ENQUEUE_RUN and its ``steps`` step records (workflow_id, run_id, step_key,
    result) in one statement; the steps are written only when the run was."""
    if not steps:
        return ENQUEUE_RUN
    values = ", ".join(["(?, ?, ?, CAST(? AS JSONB))"] * steps)
    insert_run = ENQUEUE_RUN.replace("INSERT", "run AS (INSERT", 1)
    return (
        f"WITH {insert_run}), steps AS (INSERT INTO mastra_workflow_steps ({STEP_COLUMNS}) "
        f"SELECT * FROM (VALUES {values}) AS v WHERE EXISTS (SELECT 1 FROM run) "
        f"{STEP_CONFLICT} RETURNING 1) SELECT * FROM run"
    )


RUN_STATE = """SELECT status, cancel_requested FROM mastra_workflow_runs WHERE workflow_id = ?
    AND run_id = ?"""
# Runs of a queue executing now: marked running, under a live lease.
COUNT_RUNNING = f"""SELECT count(*) FROM mastra_workflow_runs r WHERE r.queue = ?
    AND r.status = 'running' AND EXISTS (SELECT 1 FROM mastra_leases l
    WHERE l.key = {_RUN_LEASE} AND l.expires_at >= {{NOW}})"""
COUNT_STARTED = (
    "SELECT count(*) FROM mastra_workflow_runs WHERE queue = ? AND started_at >= {NOW} - ?"
)


def due_runs(workflows: int, skip_locked: bool) -> str:
    """Runs of a queue (?) among ``workflows`` ids that are due and held by no live lease,
    highest priority first (LIMIT ?); with ``skip_locked`` rows another claimer is taking
    are passed over. The row lock is NO KEY UPDATE: a plain UPDATE's lock would conflict with
    the foreign-key checks of step writes to the run (a deadlock with a worker that holds
    the run's lease row)."""
    return f"""SELECT r.workflow_id, r.run_id FROM mastra_workflow_runs r
        LEFT JOIN mastra_leases l ON l.key = {_RUN_LEASE}
        WHERE r.queue = ? AND r.wake_at <= {{NOW}} AND {_UNFINISHED}
        AND r.workflow_id IN ({", ".join("?" * workflows)})
        AND (l.key IS NULL OR l.expires_at < {{NOW}})
        ORDER BY r.priority DESC, r.wake_at, r.run_id LIMIT ?
        {"FOR NO KEY UPDATE OF r SKIP LOCKED" if skip_locked else ""}"""


def take_leases(count: int) -> str:
    """Take ``count`` leases (key, owner, microseconds) that are free or expired; returns the
    keys taken."""
    values = ", ".join(["(?, ?, {NOW} + ?)"] * count)
    return f"""INSERT INTO mastra_leases (key, owner, expires_at) VALUES {values}
        ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
        WHERE mastra_leases.expires_at < {{NOW}} RETURNING key"""


def mark_running(count: int) -> str:
    """Claimed runs (``count`` (workflow_id, run_id) pairs) are running from now on."""
    pairs = ", ".join(["(?, ?)"] * count)
    return f"""UPDATE mastra_workflow_runs SET status = 'running',
        started_at = coalesce(started_at, {{NOW}})
        WHERE (workflow_id, run_id) IN (VALUES {pairs})"""


REQUEST_CANCEL = f"""UPDATE mastra_workflow_runs SET cancel_requested = 1
    WHERE workflow_id = ? AND run_id = ? RETURNING {RUN_COLUMNS}"""
INSERT_EVENT = """INSERT INTO mastra_workflow_events (workflow_id, run_id, name, data, created_at)
    VALUES (?, ?, ?, ?j, {NOW})"""
WAKE_WAITING = """UPDATE mastra_workflow_runs SET wake_at = {NOW} WHERE workflow_id = ?
    AND run_id = ? AND status = 'waiting' AND queue IS NOT NULL"""
EVENT_TAKEN_BY = """SELECT seq, name, data FROM mastra_workflow_events WHERE workflow_id = ?
    AND run_id = ? AND taken_by = ?"""
FIRST_UNTAKEN_EVENT = """SELECT seq, name, data FROM mastra_workflow_events WHERE workflow_id = ?
    AND run_id = ? AND name = ? AND taken_by IS NULL ORDER BY seq LIMIT 1"""
TAKE_EVENT = "UPDATE mastra_workflow_events SET taken_by = ? WHERE seq = ?"
DELETE_RUNS = """DELETE FROM mastra_workflow_runs WHERE workflow_id = ? AND updated_at < ?
    AND status IN ({statuses}) RETURNING run_id"""
RELEASE_LEASE = "DELETE FROM mastra_leases WHERE key = ? AND owner = ?"
HOLD_LEASE_RETURNING = (
    "UPDATE mastra_leases SET owner = owner WHERE key = ? AND owner = ? RETURNING key"
)


def fenced_run_write(steps: int, *, run: bool = True, release: bool = False) -> str:
    """PostgreSQL: one statement that writes a run's row (``run``) and ``steps`` step records
    only while the lease (key ?, owner ?) is held, locking the lease row until it commits;
    with ``release`` the lease row is deleted instead (the final write). Parameters: the
    fence, then the run's row, then each step's (workflow_id, run_id, step_key, result).
    Returns one row: whether the lease was held."""
    held = (
        "DELETE FROM mastra_leases WHERE key = ? AND owner = ? RETURNING key"
        if release
        else "UPDATE mastra_leases SET owner = owner WHERE key = ? AND owner = ? RETURNING key"
    )
    parts = [f"held AS ({held})"]
    held_only = "WHERE EXISTS (SELECT 1 FROM held)"
    if run:
        parts.append(
            f"run AS (INSERT INTO mastra_workflow_runs ({RUN_COLUMNS}) SELECT {RUN_VALUES} "
            f"{held_only} {RUN_CONFLICT} RETURNING 1)"
        )
    if steps:
        values = ", ".join(["(?, ?, ?, CAST(? AS JSONB))"] * steps)
        parts.append(
            f"steps AS (INSERT INTO mastra_workflow_steps ({STEP_COLUMNS}) SELECT * FROM "
            f"(VALUES {values}) AS v {held_only} {STEP_CONFLICT} RETURNING 1)"
        )
    return f"WITH {', '.join(parts)} SELECT EXISTS (SELECT 1 FROM held)"


# A guarded write's first statement: it touches the lease row only while the owner holds it
# (and in PostgreSQL locks that row, so a takeover waits for the write to commit).
HOLD_LEASE = "UPDATE mastra_leases SET owner = owner WHERE key = ? AND owner = ?"
