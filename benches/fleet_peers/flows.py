"""Our side's workflows (see the package docstring)."""

import asyncio

from fleet_peers import STEPS, StepLog
from mastra.storage import Storage
from mastra.workflows import Step, StepContext, Workflow

LOG = StepLog()


def _fleet_step(name: str) -> Step:
    async def body(ctx: StepContext, data: int) -> int:
        pause = LOG.started(ctx.run_id, name)
        if pause:
            await asyncio.sleep(pause)
        return data

    return Step(name, body)


def fleet(storage: Storage | None = None, lease_seconds: float = 30.0) -> Workflow:
    """Three no-op steps, each recorded as it finishes."""
    wf = Workflow("fleet", storage=storage, lease_seconds=lease_seconds)
    for name in STEPS:
        wf.then(_fleet_step(name))
    return wf.commit()


def chain(steps: int, storage: Storage | None = None, durability: str = "sync") -> Workflow:
    """``steps`` no-op steps in a row."""
    wf = Workflow("chain", storage=storage, durability=durability)
    for i in range(steps):
        wf.then(Step(f"s{i}", lambda ctx, n: n))
    return wf.commit()
