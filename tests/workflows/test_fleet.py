"""A fleet of worker processes under SIGKILL: four `mastra worker`-style processes execute
queued three-step runs while a random one is killed every 200 ms and restarted. Every run
completes, no step recorded as done is done again, each step's data is the recorded output
of the step before it, side effects keyed by `ctx.idempotency_key` happen once, and no run
executes in two processes at the same time."""

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from mastra.storage import PostgresStorage, SQLiteStorage
from mastra.workflows import Workflow, step

APP = textwrap.dedent("""
    import asyncio, os, time, uuid
    from mastra import Mastra
    from mastra.storage import PostgresStorage, SQLiteStorage
    from mastra.workflows import StepContext, Workflow, step

    kind, where, log_dir = os.environ["KIND"], os.environ["WHERE"], os.environ["LOG_DIR"]
    log = open(os.path.join(log_dir, f"{os.getpid()}.log"), "a", buffering=1)
    effects = os.path.join(log_dir, "effects")

    def effect_once(key):
        # O_EXCL: a side effect made idempotent by the step's stable key
        try:
            os.close(os.open(os.path.join(effects, key.replace(":", "_")), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass

    def make(name):
        async def body(ctx: StepContext, data):
            execution = uuid.uuid4().hex
            log.write(f"start {ctx.run_id} {name} {execution} {time.time()}\\n")
            await asyncio.sleep(0.005)
            effect_once(ctx.idempotency_key)
            log.write(f"end {ctx.run_id} {name} {execution} {time.time()}\\n")
            got = data.get("execution") if isinstance(data, dict) else data
            return {"execution": execution, "got": got}
        return step(id=name)(body)

    def saved(run_id, steps):
        # logged only after the write committed: these results are in the database
        for name, record in steps.items():
            output = record.get("output") if isinstance(record, dict) else None
            if isinstance(output, dict) and "execution" in output:
                log.write(f"saved {run_id} {name} {output['execution']} {time.time()}\\n")

    def observed(base):
        class Observed(base):
            async def save_workflow_run(self, run, **options):
                await super().save_workflow_run(run, **options)
                saved(run.run_id, run.steps)

            async def save_workflow_steps(self, workflow_id, run_id, steps, **options):
                await super().save_workflow_steps(workflow_id, run_id, steps, **options)
                saved(run_id, steps)
        return Observed

    storage = (
        observed(SQLiteStorage)(where)
        if kind == "sqlite"
        else observed(PostgresStorage)(where, max_size=4)
    )
    wf = Workflow("fleet", lease_seconds=1.0)
    wf.then(make("a")).then(make("b")).then(make("c")).commit()
    mastra = Mastra(workflows=[wf], storage=storage)
""")


def start_worker(folder, kind, where):
    """`mastra worker` on the app in ``folder``, as a user would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "mastra.cli", "worker", "fleetapp:mastra", "--concurrency", "8"],
        cwd=folder,
        env={**os.environ, "KIND": kind, "WHERE": where, "LOG_DIR": str(folder)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def count_finished(kind, where):
    """Runs finished, straight from the database (cheaper than loading every run)."""
    query = "SELECT count(*) FROM mastra_workflow_runs WHERE status = 'success'"
    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(where) as db:
            return db.execute(query).fetchone()[0]
    import psycopg

    async with await psycopg.AsyncConnection.connect(where) as db:
        return (await (await db.execute(query)).fetchone())[0]


def read_logs(log_dir):
    """({(run, step): [(execution, pid, start, end or None)]},
    {(run, step): [(execution, when its write committed)]})"""
    executions, saves = {}, defaultdict(list)
    for path in Path(log_dir).glob("*.log"):
        pid = int(path.stem)
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) != 5:
                continue  # a line cut short by the kill
            kind, run, name, execution, moment = parts
            if kind == "saved":
                saves[(run, name)].append((execution, float(moment)))
                continue
            record = executions.setdefault(execution, [run, name, pid, None, None])
            record[3 if kind == "start" else 4] = float(moment)
    by_step = defaultdict(list)
    for execution, (run, name, pid, start, end) in executions.items():
        by_step[(run, name)].append((execution, pid, start, end))
    return by_step, saves


@pytest.mark.parametrize(("kind", "runs"), [("postgres", 2000), ("sqlite", 300)])
async def test_workers_killed_at_random_lose_and_repeat_nothing(kind, runs, tmp_path, request):
    where = (
        request.getfixturevalue("postgres_dsn") if kind == "postgres" else str(tmp_path / "q.db")
    )
    storage = PostgresStorage(where) if kind == "postgres" else SQLiteStorage(where)
    wf = Workflow("fleet", storage=storage, lease_seconds=1.0)
    for name in "abc":  # the same graph the workers execute; executed there only
        wf.then(step(id=name)(lambda ctx, data: data))
    (tmp_path / "fleetapp.py").write_text(APP)
    (tmp_path / "effects").mkdir()
    for n in range(runs):
        await wf.enqueue(n, run_id=f"r{n:05d}")
    workers = [start_worker(tmp_path, kind, where) for _ in range(4)]
    kills = defaultdict(list)  # pid -> kill times
    chance = random.Random(7)
    done, progressed = 0, time.monotonic()  # a busy machine is slow; a stuck fleet stops
    try:
        while True:
            finished = await count_finished(kind, where)
            if finished > done:
                done, progressed = finished, time.monotonic()
            if done == runs or time.monotonic() - progressed > 90:
                break
            await asyncio.sleep(0.2)
            victim = chance.randrange(len(workers))
            pid = workers[victim].pid
            kills[pid].append(time.time())
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = start_worker(tmp_path, kind, where)
        assert done == runs, f"{done} of {runs} runs finished; none for 90 s"
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    stored = {r.run_id: r for r in await storage.list_workflow_runs("fleet", limit=10_000)}
    await storage.close()
    assert len(stored) == runs and {r.status for r in stored.values()} == {"success"}
    logs, saves = read_logs(tmp_path)
    assert len(os.listdir(tmp_path / "effects")) == runs * 3  # one per step, never two
    kill_after = {pid: sorted(times) for pid, times in kills.items()}

    def stopped(pid, start, end):
        """When an execution stopped: its end, else its process's kill (None: unknown)."""
        return (
            end
            if end is not None
            else next((t for t in kill_after.get(pid, []) if t >= start), None)
        )

    repeated = 0
    for run_id, run in stored.items():
        records = {name: run.steps[name]["output"] for name in "abc"}
        assert records["b"]["got"] == records["a"]["execution"], run_id  # the recorded a
        assert records["c"]["got"] == records["b"]["execution"], run_id
        spans = []
        for name in "abc":
            executions = logs[(run_id, name)]
            repeated += len(executions) - 1
            # a result once written is the one kept, and the step never starts again after it
            # (a kill between the commit and its log line leaves a write unlogged: rare)
            committed = saves[(run_id, name)]
            assert {execution for execution, _ in committed} <= {records[name]["execution"]}
            first_commit = min((moment for _, moment in committed), default=float("inf"))
            for _, pid, start, end in executions:
                assert start < first_commit, (run_id, name, "started after its result was saved")
                if stopped(pid, start, end) is not None:
                    spans.append((start, stopped(pid, start, end), pid))
        spans.sort()
        for (_, first_end, first_pid), (second_start, _, second_pid) in itertools.pairwise(spans):
            assert first_pid == second_pid or second_start >= first_end, run_id  # one at a time
    logged = sum(1 for run_id in stored for name in "abc" if saves[(run_id, name)])
    assert logged >= runs * 3 * 0.9  # the check above saw nearly every write
    kill_count = sum(len(times) for times in kills.values())
    print(f"{runs} runs, {kill_count} kills, {repeated} steps run again")
    assert repeated <= kill_count * 8  # at most the steps in flight per kill
