"""Durable runs on SQLite whose lease and step records are written on the event loop's thread
when the storage's worker is idle: when another connection holds the write lock the record goes to
the worker instead (the loop keeps running), and a cancel during the write neither loses the
record nor runs a step again."""

import asyncio
import sqlite3
import time

import pytest

from mastra.storage import SQLiteStorage
from mastra.workflows import Step, Workflow

HOLD = 0.4  # how long the other connection keeps the write lock


class Ticker:
    """The longest time the event loop went without running this task."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            moment = time.perf_counter()
            self.longest = max(self.longest, moment - last)
            last = moment

    def stop(self) -> float:
        self._task.cancel()
        return self.longest


def lock_for(path, seconds: float) -> sqlite3.Connection:
    """Another connection (as another process would) takes the write lock and gives it up
    ``seconds`` later, from the event loop."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(seconds, other.execute, "COMMIT")
    return other


def chain(storage, ran: list[str], during_s1=None) -> Workflow:
    def body(name):
        def execute(ctx, n):
            ran.append(name)
            if name == "s1" and during_s1 is not None:
                during_s1()
            return n + 1

        return execute

    wf = Workflow("chain", storage=storage, durability="sync")
    for name in ("s0", "s1", "s2"):
        wf.then(Step(name, body(name)))
    return wf.commit()


async def stored_steps(path, run_id: str) -> dict[str, str]:
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT step_key, count(*) FROM mastra_workflow_steps WHERE run_id = ? GROUP BY step_key",
        (run_id,),
    ).fetchall()
    connection.close()
    return dict(rows)


async def test_a_step_record_waits_for_another_connections_lock_off_the_loop(tmp_path):
    path = tmp_path / "runs.db"
    storage = SQLiteStorage(path)
    others: list[sqlite3.Connection] = []
    ran: list[str] = []
    wf = chain(storage, ran, during_s1=lambda: others.append(lock_for(path, HOLD)))
    run = wf.create_run()
    ticker = Ticker()
    began = time.perf_counter()
    result = await run.start(0)
    took, longest = time.perf_counter() - began, ticker.stop()
    assert result.status == "success" and result.result == 3
    assert took >= HOLD  # s1's record waited for the lock (on the worker)
    assert longest < HOLD / 2, f"the event loop stalled {longest * 1000:.0f} ms"
    assert ran == ["s0", "s1", "s2"]
    stored = await storage.get_workflow_run("chain", run.run_id)
    assert stored is not None and stored.status == "success"
    assert {k: v["output"] for k, v in stored.steps.items() if k != "$input"} == {
        "s0": 1,
        "s1": 2,
        "s2": 3,
    }
    others[0].close()
    await storage.aclose()


async def test_a_run_takes_its_lease_off_the_loop_while_another_connection_writes(tmp_path):
    """The lease is taken on the loop's thread when the storage is free; while another
    connection holds the write lock, the start waits for it on the worker instead."""
    path = tmp_path / "runs.db"
    storage = SQLiteStorage(path)
    ran: list[str] = []
    wf = chain(storage, ran)
    await wf.create_run().start(0)  # the schema and the worker, before the lock
    other = lock_for(path, HOLD)
    ticker = Ticker()
    began = time.perf_counter()
    result = await wf.create_run().start(0)
    took, longest = time.perf_counter() - began, ticker.stop()
    assert result.status == "success" and result.result == 3
    assert took >= HOLD * 0.9  # the lease waited for the lock (on the worker)
    assert longest < HOLD / 2, f"the event loop stalled {longest * 1000:.0f} ms"
    assert ran == ["s0", "s1", "s2"] * 2
    other.close()
    await storage.aclose()


@pytest.mark.parametrize("locked", [False, True], ids=["lock-free", "lock-held"])
async def test_a_cancel_during_a_step_write_keeps_that_record_once(tmp_path, locked):
    """The step cancels its own run: the cancel lands while its record is being written (on
    the loop's thread when the lock is free; queued for the worker when another connection
    holds it). The record is kept, written once, and the run stops as canceled with the next
    step never run — also when the final write follows a step record still queued."""
    path = tmp_path / "runs.db"
    storage = SQLiteStorage(path)
    others: list[sqlite3.Connection] = []
    ran: list[str] = []
    holder: list = []

    def cancel_own_run():
        if locked:
            others.append(lock_for(path, HOLD))
        holder[0].cancel()

    wf = chain(storage, ran, during_s1=cancel_own_run)
    run = wf.create_run()
    holder.append(run)
    result = await run.start(0)
    assert result.status == "canceled"
    assert ran == ["s0", "s1"]
    stored = await storage.get_workflow_run("chain", run.run_id)
    assert stored is not None and stored.status == "canceled"
    assert stored.steps["s1"]["status"] == "success" and stored.steps["s1"]["output"] == 2
    assert await stored_steps(path, run.run_id) == {"$input": 1, "s0": 1, "s1": 1}
    # the lease was given up by the final write, after the record: nobody holds the run
    assert await storage.acquire_lease(f"workflow:chain:{run.run_id}", "someone", 5.0)
    for other in others:
        other.close()
    await storage.aclose()
