"""DBOS Transact's side: the same workflows as ``flows``, and a worker process.

``python -m fleet_peers.dbos_app EXECUTOR_ID`` launches DBOS on the system database at
``FLEET_DSN`` with that executor id, serves queue ``QUEUE`` with ``worker_concurrency``
``FLEET_CONCURRENCY`` (16) and polling interval ``FLEET_POLL`` seconds (DBOS's default 1.0),
prints ``ready`` and runs until SIGTERM (or SIGKILL). Its connection pool holds ``FLEET_POOL``
(18) connections rather than DBOS's default 20: four workers of 20, their listeners and the
enqueuing client's 16 would pass the benchmark server's 100 connections ("too many clients").
"""

import os
import signal
import sys
import threading
import time

from dbos import DBOS

from fleet_peers import QUEUE, StepLog

APP = "fleetbench"
LOG = StepLog()


def _step(name: str):
    @DBOS.step(name=f"fleet.{name}")
    def body(n: int) -> int:
        pause = LOG.started(DBOS.workflow_id or "", name)
        if pause:
            time.sleep(pause)
        return n

    return body


fleet_a, fleet_b, fleet_c = (_step(name) for name in ("a", "b", "c"))


@DBOS.workflow(name="fleet")
def fleet(n: int) -> int:
    """Three no-op steps, each checkpointed as it finishes."""
    return fleet_c(fleet_b(fleet_a(n)))


@DBOS.step(name="noop")
def noop(n: int) -> int:
    return n


@DBOS.workflow(name="chain")
def chain(steps: int) -> int:
    """``steps`` no-op steps in a row."""
    for i in range(steps):
        noop(i)
    return steps


def launch(dsn: str, executor_id: str | None = None, pool: int | None = None) -> None:
    """Configure and launch DBOS in this process on the system database ``dsn``."""
    config = {"name": APP, "system_database_url": dsn, "log_level": "WARNING"}
    if executor_id is not None:
        config["executor_id"] = executor_id
    if pool is not None:
        config["sys_db_pool_size"] = pool
    DBOS(config=config)
    DBOS.launch()


def main(executor_id: str) -> None:
    launch(os.environ["FLEET_DSN"], executor_id, int(os.environ.get("FLEET_POOL") or 18))
    DBOS.register_queue(
        QUEUE,
        worker_concurrency=int(os.environ.get("FLEET_CONCURRENCY") or 16),
        polling_interval_sec=float(os.environ.get("FLEET_POLL") or 1.0),
        on_conflict="always_update",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    DBOS.destroy(destroy_registry=False)


if __name__ == "__main__":
    main(sys.argv[1])
