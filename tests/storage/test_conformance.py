"""One behaviour, three backends: every test runs on memory, SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mastra.errors import LeaseLostError, NotFoundError, StorageError, ValidationError
from mastra.messages import ImagePart, Message, TextPart, ToolCall, ToolResult
from mastra.storage import (
    InMemoryStorage,
    PostgresStorage,
    Resource,
    ScoreRecord,
    SQLiteStorage,
    Storage,
    StoredMessage,
    Thread,
    WorkflowRun,
)
from mastra.storage.types import MAX_MESSAGE_BYTES
from mastra.telemetry import SpanRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def storage(request, tmp_path):
    if request.param == "memory":
        store = InMemoryStorage()
    elif request.param == "sqlite":
        store = SQLiteStorage(tmp_path / "mastra.db")
    else:
        store = PostgresStorage(request.getfixturevalue("postgres_dsn"))
    await store.init()
    yield store
    await store.close()


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def msg(id, thread="t1", seconds=0, text=None, role="user", importance=0.5):
    return StoredMessage(
        id=id,
        thread_id=thread,
        role=role,
        resource_id="r1",
        parts=[TextPart(text or f"text {id}")],
        created_at=at(seconds),
        importance=importance,
    )


async def test_is_a_storage(storage):
    assert isinstance(storage, Storage)


async def test_threads_round_trip_update_and_page(storage):
    for i in range(5):
        await storage.save_thread(
            Thread(
                id=f"t{i}",
                resource_id="r1",
                title=f"T{i}",
                metadata={"n": i, "tags": ["a"]},
                created_at=at(i),
                updated_at=at(i),
            )
        )
    await storage.save_thread(
        Thread(id="other", resource_id="r2", created_at=at(0), updated_at=at(0))
    )
    got = await storage.get_thread("t3")
    assert got == Thread(
        id="t3",
        resource_id="r1",
        title="T3",
        metadata={"n": 3, "tags": ["a"]},
        created_at=at(3),
        updated_at=at(3),
    )
    assert await storage.get_thread("missing") is None
    newest = await storage.list_threads("r1", limit=2)
    assert [t.id for t in newest] == ["t4", "t3"]
    assert [t.id for t in await storage.list_threads("r1", limit=2, offset=2)] == ["t2", "t1"]
    assert [t.id for t in await storage.list_threads("r1", order="asc", limit=1)] == ["t0"]
    updated = await storage.update_thread("t0", title="renamed")
    assert updated.title == "renamed" and updated.metadata == {"n": 0, "tags": ["a"]}
    assert updated.created_at == at(0) and updated.updated_at > at(4)
    assert (await storage.list_threads("r1"))[0].id == "t0"  # most recently updated first
    with pytest.raises(NotFoundError, match="no thread 'nope'"):
        await storage.update_thread("nope", title="x")


async def test_messages_order_paging_and_last(storage):
    await storage.save_thread(Thread(id="t1", resource_id="r1", created_at=at(0), updated_at=at(0)))
    await storage.save_messages([msg(f"m{i}", seconds=i // 2) for i in range(10)])
    everything = await storage.list_messages("t1", limit=100)
    assert [m.id for m in everything] == [f"m{i}" for i in range(10)]  # ties keep insert order
    assert [m.id for m in await storage.list_messages("t1", limit=3, offset=2)] == [
        "m2",
        "m3",
        "m4",
    ]
    assert [m.id for m in await storage.list_messages("t1", limit=2, order="desc")] == ["m9", "m8"]
    assert [m.id for m in await storage.list_messages("t1", last=3)] == ["m7", "m8", "m9"]
    assert (await storage.get_thread("t1")).updated_at == at(4)  # touched by the newest


async def test_message_parts_round_trip_and_upsert(storage):
    await storage.save_thread(Thread(id="t1", resource_id="r1"))
    parts = [
        TextPart("look"),
        ImagePart(data=b"\x89PNG", media_type="image/png"),
        ToolCall("c1", "search", {"q": "x", "n": [1, 2]}),
        ToolResult("c1", "search", {"hits": 3}, is_error=False),
    ]
    original = StoredMessage(
        id="m1",
        thread_id="t1",
        role="assistant",
        parts=parts,
        resource_id="r1",
        created_at=at(5),
        importance=0.9,
    )
    await storage.save_messages([original])
    [got] = await storage.list_messages("t1")
    assert got == original
    assert got.to_message() == Message("assistant", parts)
    await storage.save_messages([msg("m1", text="edited", seconds=99)])
    [edited] = await storage.list_messages("t1")
    assert edited.parts == [TextPart("edited")] and edited.created_at == at(5)


async def test_bad_messages_write_nothing(storage):
    await storage.save_thread(Thread(id="t1", resource_id="r1"))
    with pytest.raises(StorageError, match="thread that does not exist"):
        await storage.save_messages([msg("a"), msg("b", thread="ghost")])
    with pytest.raises(ValidationError, match=r"importance 1\.5"):
        await storage.save_messages([msg("c"), msg("d", importance=1.5)])
    with pytest.raises(ValidationError, match=f"the limit is {MAX_MESSAGE_BYTES} bytes"):
        await storage.save_messages([msg("e"), msg("f", text="x" * (MAX_MESSAGE_BYTES + 1))])
    with pytest.raises(ValidationError, match="invalid message id"):
        await storage.save_messages([msg("bad id with spaces")])
    assert await storage.list_messages("t1") == []


async def test_delete_thread_cascades_and_delete_messages(storage):
    for thread in ("t1", "t2"):
        await storage.save_thread(Thread(id=thread, resource_id="r1"))
    await storage.save_messages([msg("a"), msg("b"), msg("c", thread="t2")])
    await storage.delete_messages(["a", "missing"])
    assert [m.id for m in await storage.list_messages("t1")] == ["b"]
    await storage.delete_thread("t1")
    assert await storage.get_thread("t1") is None
    assert await storage.list_messages("t1") == []
    assert [m.id for m in await storage.list_messages("t2")] == ["c"]


async def test_resources(storage):
    assert await storage.get_resource("u1") is None
    resource = Resource(
        id="u1", working_memory="# Name\nAda", metadata={"plan": "pro"}, updated_at=at(1)
    )
    await storage.save_resource(resource)
    assert await storage.get_resource("u1") == resource
    await storage.save_resource(
        Resource(id="u1", working_memory="# Name\nAda L.", updated_at=at(2))
    )
    assert (await storage.get_resource("u1")).working_memory == "# Name\nAda L."


async def test_workflow_runs(storage):
    for i, status in enumerate(["success", "suspended", "failed"]):
        await storage.save_workflow_run(
            WorkflowRun(
                workflow_id="etl",
                run_id=f"run{i}",
                status=status,
                snapshot={"step": i, "data": [1, {"x": None}]},
                created_at=at(i),
                updated_at=at(i),
            )
        )
    await storage.save_workflow_run(WorkflowRun(workflow_id="other", run_id="x", status="success"))
    got = await storage.get_workflow_run("etl", "run1")
    assert got.snapshot == {"step": 1, "data": [1, {"x": None}]} and got.status == "suspended"
    assert [r.run_id for r in await storage.list_workflow_runs("etl")] == ["run2", "run1", "run0"]
    assert [r.run_id for r in await storage.list_workflow_runs("etl", status="failed")] == ["run2"]
    await storage.save_workflow_run(
        WorkflowRun(
            workflow_id="etl",
            run_id="run1",
            status="success",
            snapshot={"done": True},
            created_at=at(50),
            updated_at=at(60),
        )
    )
    again = await storage.get_workflow_run("etl", "run1")
    assert (again.status, again.created_at, again.updated_at) == ("success", at(1), at(60))
    assert await storage.get_workflow_run("etl", "nope") is None


async def test_spans_and_kv(storage):
    spans = [
        SpanRecord(
            name=f"s{i}",
            trace_id="tr1" if i < 3 else "tr2",
            span_id=f"sp{i}",
            parent_id=None,
            start_ns=100 - i,
            end_ns=200,
            attributes={"i": i},
        )
        for i in range(5)
    ]
    await storage.save_spans(spans)
    assert [s.span_id for s in await storage.list_spans(trace_id="tr1")] == ["sp2", "sp1", "sp0"]
    assert await storage.list_spans(trace_id="tr2", limit=1) == [spans[4]]
    await storage.kv_set("config", {"a": [1, 2], "b": None})
    assert await storage.kv_get("config") == {"a": [1, 2], "b": None}
    await storage.kv_set("config", 3)
    assert await storage.kv_get("config") == 3
    await storage.kv_delete("config")
    assert await storage.kv_get("config") is None
    with pytest.raises(ValidationError, match="not JSON"):
        await storage.kv_set("k", object())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be an integer from 1 to 10000"),
        ({"offset": -1}, "offset must be an integer >= 0"),
        ({"order": "sideways"}, "order must be 'asc' or 'desc'"),
    ],
)
async def test_paging_validation(storage, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        await storage.list_messages("t1", **kwargs)


async def test_messages_around_one(storage):
    await storage.save_thread(Thread(id="t1", resource_id="r1"))
    await storage.save_thread(Thread(id="t2", resource_id="r1"))
    await storage.save_messages([msg(f"m{i}", seconds=i) for i in range(6)] + [msg("x", "t2")])
    around = await storage.list_messages_around("t1", "m3", before=2, after=1)
    assert [m.id for m in around] == ["m1", "m2", "m3", "m4"]
    assert [m.id for m in await storage.list_messages_around("t1", "m0", before=3, after=0)] == [
        "m0"
    ]
    assert await storage.list_messages_around("t1", "x") == []  # another thread's message


async def test_leases_are_exclusive_until_released_or_expired(storage):
    assert await storage.acquire_lease("run:1", "a", ttl=30)
    assert not await storage.acquire_lease("run:1", "b", ttl=30)
    assert await storage.acquire_lease("run:1", "a", ttl=30)  # renewal by the holder
    await storage.release_lease("run:1", "b")  # not b's to release
    assert not await storage.acquire_lease("run:1", "b", ttl=30)
    await storage.release_lease("run:1", "a")
    assert await storage.acquire_lease("run:1", "b", ttl=0.001)
    await asyncio.sleep(0.01)
    assert await storage.acquire_lease("run:1", "c", ttl=30)  # b's lease expired
    results = await asyncio.gather(
        *(storage.acquire_lease("run:2", f"o{i}", ttl=30) for i in range(8))
    )
    assert sum(results) == 1


async def test_a_lease_is_renewed_only_by_its_holder_and_never_recreated(storage):
    assert await storage.acquire_lease("run:3", "a", ttl=0.001)
    await asyncio.sleep(0.01)
    assert await storage.renew_lease("run:3", "a", ttl=30)  # expired, but nobody took it
    assert not await storage.acquire_lease("run:3", "b", ttl=30)  # renewed: held again
    assert not await storage.renew_lease("run:3", "b", ttl=30)  # not b's
    await storage.release_lease("run:3", "a")
    assert not await storage.renew_lease("run:3", "a", ttl=30)  # given up: not recreated
    assert await storage.acquire_lease("run:3", "b", ttl=0.001)
    await asyncio.sleep(0.01)
    assert await storage.acquire_lease("run:3", "c", ttl=30)
    assert not await storage.renew_lease("run:3", "b", ttl=30)  # taken over while expired
    await storage.release_lease("run:3", "c")
    assert not await storage.renew_lease("run:3", "b", ttl=30)  # and then released


async def test_writes_fenced_by_a_lease_happen_only_for_its_holder(storage):
    run = WorkflowRun(workflow_id="wf", run_id="r1", status="running", snapshot={"n": 1})
    assert await storage.acquire_lease("wf:r1", "a", ttl=0.05)
    await storage.save_workflow_run(run, fence=("wf:r1", "a"))
    await asyncio.sleep(0.06)  # a's lease lapses and b takes it over
    assert await storage.acquire_lease("wf:r1", "b", ttl=30)
    stale = msgspec.structs.replace(run, status="success", snapshot={"n": 99})
    with pytest.raises(LeaseLostError, match="held by another owner"):
        await storage.save_workflow_run(stale, fence=("wf:r1", "a"))
    with pytest.raises(LeaseLostError):
        await storage.save_workflow_run(stale, fence=("nobody-holds-this", "a"))
    kept = await storage.get_workflow_run("wf", "r1")
    assert kept.status == "running" and kept.snapshot == {"n": 1}
    await storage.save_workflow_run(stale, fence=("wf:r1", "b"))
    assert (await storage.get_workflow_run("wf", "r1")).snapshot == {"n": 99}


@pytest.mark.parametrize("bad", ["t1\n", "t1\r\n", "\nt1", "t 1", "", "x" * 257])
async def test_ids_must_match_in_full(storage, bad):
    with pytest.raises(ValidationError, match="invalid thread id"):
        await storage.save_thread(Thread(id=bad, resource_id="r1"))
    with pytest.raises(ValidationError, match="invalid run id"):
        await storage.save_workflow_run(WorkflowRun(workflow_id="wf", run_id=bad, status="x"))
    assert await storage.list_threads("r1") == []


async def test_an_unreachable_postgres_is_a_connection_error_without_the_password():
    import builtins

    from mastra.errors import ConnectionError

    storage = PostgresStorage(
        "postgresql://mastra:hunter2-secret@127.0.0.1:1/app", connect_timeout=0.5
    )
    with pytest.raises(ConnectionError) as caught:
        await storage.list_threads("r1")
    assert isinstance(caught.value, builtins.ConnectionError)
    assert caught.value.provider == "postgres" and "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(storage)
    await storage.aclose()


def score(id, seconds=0, **fields):
    base = {"scorer_id": "relevancy", "score": 0.5, "run_id": "run1", "entity_id": "weather"}
    return ScoreRecord(id=id, created_at=at(seconds), **{**base, **fields})


async def test_scores_round_trip_filter_and_page_newest_first(storage):
    full = score(
        "s1",
        reason="on topic",
        trace_id="ab" * 16,
        input={"prompt": "hi"},
        output="hello",
        steps={"analyze": {"verdicts": ["yes"]}},
        metadata={"k": 1},
    )
    await storage.save_scores(
        [
            full,
            score("s2", 10, scorer_id="toxicity", score=0.0),
            score("s3", 20, run_id="run2"),
            score("s4", 30, entity_id="support", source="eval", entity_type="eval"),
        ]
    )
    assert [s.id for s in await storage.list_scores()] == ["s4", "s3", "s2", "s1"]
    assert await storage.list_scores(run_id="run1", scorer_id="relevancy") == [
        score("s4", 30, entity_id="support", source="eval", entity_type="eval"),
        full,
    ]
    assert [s.id for s in await storage.list_scores(entity_id="weather", limit=2)] == ["s3", "s2"]
    assert [s.id for s in await storage.list_scores(entity_id="weather", offset=2)] == ["s1"]
    assert await storage.list_scores(scorer_id="nope") == []
    await storage.save_scores([score("s1", 0, score=1.0)])  # replaces by id
    assert [s.score for s in await storage.list_scores(run_id="run1")][-1] == 1.0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"score": float("nan")}, "expected a finite number"),
        ({"score": "high"}, "expected a finite number"),
        ({"scorer_id": "bad id!"}, "invalid scorer id"),
        ({"run_id": ""}, "invalid run id"),
    ],
)
async def test_bad_scores_write_nothing(storage, bad, message):
    with pytest.raises(ValidationError, match=message):
        await storage.save_scores([score("ok"), score("bad", **bad)])
    assert await storage.list_scores() == []


async def test_a_database_from_before_scores_migrates_forward(tmp_path):
    """A file at schema version 2 (before the scores table) keeps its data and gains the
    table on the next init."""
    import sqlite3

    from mastra.storage import sql

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE mastra_schema (version INTEGER NOT NULL)")
    for number, statements in sql.pending_migrations(0, sql.SQLITE)[:2]:
        for statement in statements:
            connection.execute(statement)
        connection.execute("INSERT INTO mastra_schema VALUES (?)", (number,))
    connection.commit()
    connection.close()
    store = SQLiteStorage(path)
    await store.save_thread(Thread(id="t1", resource_id="r1"))
    await store.save_scores([score("s1")])
    assert [s.id for s in await store.list_scores()] == ["s1"]
    assert (await store.get_thread("t1")).resource_id == "r1"
    await store.close()
