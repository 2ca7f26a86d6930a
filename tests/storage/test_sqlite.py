import asyncio
import builtins
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from mastra.errors import StorageError
from mastra.messages import TextPart
from mastra.storage import SQLiteStorage, StoredMessage, Thread
from mastra.storage.sql import MIGRATIONS
from tests.loop_gaps import loop_gaps

WRITER = textwrap.dedent("""
    import asyncio, sys
    from mastra.messages import TextPart
    from mastra.storage import SQLiteStorage, StoredMessage, Thread

    async def main(path):
        store = SQLiteStorage(path)
        await store.save_thread(Thread(id="t", resource_id="r"))
        batch = 0
        while True:
            ids = [f"m{batch}-{i}" for i in range(20)]
            await store.save_messages([StoredMessage(id=i, thread_id="t", role="user",
                                                     parts=[TextPart("x" * 200)]) for i in ids])
            print(batch, flush=True)  # acknowledged: the transaction committed
            batch += 1

    asyncio.run(main(sys.argv[1]))
""")


def test_sigkill_mid_append_loses_nothing_acknowledged(tmp_path):
    path = tmp_path / "crash.db"
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    acknowledged = []
    for line in process.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 60:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    acknowledged.extend(int(line) for line in process.stdout.read().split())
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {row[0] for row in connection.execute("SELECT id FROM mastra_messages")}
    missing = [f"m{b}-{i}" for b in acknowledged for i in range(20) if f"m{b}-{i}" not in stored]
    assert missing == []
    # batches are atomic: every batch is whole or absent
    batches = {}
    for message_id in stored:
        batch = message_id[1:].split("-")[0]
        batches[batch] = batches.get(batch, 0) + 1
    assert set(batches.values()) == {20}


async def test_two_processes_share_one_file(tmp_path):
    path = tmp_path / "shared.db"
    store = SQLiteStorage(path)
    await store.save_thread(Thread(id="t", resource_id="r"))
    script = textwrap.dedent("""
        import asyncio, sys
        from mastra.messages import TextPart
        from mastra.storage import SQLiteStorage, StoredMessage
        async def main():
            store = SQLiteStorage(sys.argv[1])
            for i in range(50):
                await store.save_messages([StoredMessage(id=f"{sys.argv[2]}{i}", thread_id="t",
                                                         role="user", parts=[TextPart("x")])])
            await store.close()
        asyncio.run(main())
    """)
    others = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", script, str(path), tag)
        for tag in ("a", "b")
    ]
    for i in range(50):
        await store.save_messages(
            [StoredMessage(id=f"c{i}", thread_id="t", role="user", parts=[TextPart("x")])]
        )
    assert [await p.wait() for p in others] == [0, 0]
    assert len(await store.list_messages("t", limit=1000)) == 150
    await store.close()


async def test_the_event_loop_keeps_running_during_big_writes(tmp_path):
    store = SQLiteStorage(tmp_path / "big.db")
    await store.save_thread(Thread(id="t", resource_id="r"))
    messages = [
        StoredMessage(id=f"m{i}", thread_id="t", role="user", parts=[TextPart("y" * 300)])
        for i in range(20_000)
    ]

    async def work():
        await store.save_messages(messages)
        await store.list_messages("t", last=5000)

    _, gaps, elapsed = await loop_gaps(work())
    # encoding, SQL and decoding all happen on the worker thread: the loop keeps ticking all
    # along (had the work run on the loop, one gap would span all of it). Relative, because
    # a loaded machine stretches every gap.
    assert len(gaps) > 100, len(gaps)
    assert max(gaps) < elapsed / 3, f"longest stall {max(gaps) * 1000:.1f} ms of {elapsed:.3f} s"
    await store.close()


async def test_schema_versioning(tmp_path):
    path = tmp_path / "v.db"
    store = SQLiteStorage(path)
    await store.init()
    await store.close()
    connection = sqlite3.connect(path)
    latest = (len(MIGRATIONS),)
    assert connection.execute("SELECT max(version) FROM mastra_schema").fetchone() == latest
    connection.execute("INSERT INTO mastra_schema VALUES (99)")
    connection.commit()
    with pytest.raises(StorageError, match="schema version 99 is newer"):
        await SQLiteStorage(path).init()


async def test_unopenable_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot create the folder"):
        await SQLiteStorage(blocker / "db.sqlite").init()


async def test_waiting_too_long_for_another_writer_is_a_timeout(tmp_path):
    from mastra.errors import TimeoutError

    path = tmp_path / "busy.db"
    storage = SQLiteStorage(path, busy_timeout=0.2)
    await storage.save_thread(Thread(id="t1", resource_id="r"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        with pytest.raises(TimeoutError, match="locked") as caught:
            await storage.save_thread(Thread(id="t2", resource_id="r"))
        assert isinstance(caught.value, builtins.TimeoutError)
    finally:
        other.execute("ROLLBACK")
        other.close()
    await storage.save_thread(Thread(id="t2", resource_id="r"))  # and then it goes through
    assert [t.id for t in await storage.list_threads("r", order="asc")] == ["t1", "t2"]
    await storage.aclose()


async def test_step_writes_on_the_loop_thread_still_let_the_wal_be_checkpointed(tmp_path):
    """Small fenced writes run on the event loop's thread without SQLite's auto-checkpoint
    (its fsyncs would stall the loop); the worker's share of them checkpoints, so the WAL
    stays near SQLite's 1,000-page mark instead of growing with every write."""
    from mastra.storage import WorkflowRun

    path = tmp_path / "steps.db"
    store = SQLiteStorage(path)
    fence = ("workflow:wf:r", "me")
    assert await store.acquire_lease(*fence, 60.0)
    await store.save_workflow_run(WorkflowRun(workflow_id="wf", run_id="r", status="running"))
    for i in range(4000):
        steps = {f"s{i}": {"status": "success", "output": "x" * 200}}
        await store.save_workflow_steps("wf", "r", steps, fence=fence)
    wal = (tmp_path / "steps.db-wal").stat().st_size
    page = 4096 + 24  # a WAL frame: one page and its header
    assert wal < 1600 * page, f"the WAL grew to {wal / page:.0f} pages"
    assert len((await store.get_workflow_run("wf", "r")).steps) == 4000
    await store.aclose()


class CountingSelector(selectors.DefaultSelector):
    """The stdlib selector, counting the times the event loop woke up from it."""

    wakeups = 0

    def select(self, timeout=None):
        events = super().select(timeout)
        self.wakeups += 1
        return events


def test_a_long_write_hands_the_event_loop_turns_as_it_goes(tmp_path):
    """Letting go of the GIL now and then is not enough for the loop's thread to get it (the
    worker takes it straight back; Python forces a hand-over only after 5 ms), so the worker
    waits for the loop to run once every fraction of a millisecond of its work. Here the
    loop has nothing else to do: every wake-up but the last is such a turn."""
    selector = CountingSelector()
    store = SQLiteStorage(tmp_path / "turns.db")
    messages = [
        StoredMessage(id=f"m{i}", thread_id="t", role="user", parts=[TextPart("y" * 300)])
        for i in range(20_000)
    ]

    async def save() -> tuple[int, float]:
        await store.save_thread(Thread(id="t", resource_id="r"))
        before = selector.wakeups
        began = time.perf_counter()
        await store.save_messages(messages)
        took = time.perf_counter() - began
        assert len(await store.list_messages("t", last=5)) == 5
        await store.aclose()
        return before, took

    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector)) as runner:
        before, took = runner.run(save())
    turns = selector.wakeups - before
    assert turns >= took * 1000 / 5, f"{turns} turns in {took * 1000:.0f} ms"
