"""A workflow that suspends for approval, is reloaded from SQLite, and resumes.

Run: python examples/workflow_approval.py
"""

import asyncio
import tempfile
from pathlib import Path

import msgspec

from mastra.storage import SQLiteStorage
from mastra.workflows import StepContext, Workflow, step


class Refund(msgspec.Struct):
    order: str
    amount: float


@step
async def check(ctx: StepContext, refund: Refund) -> Refund:
    if refund.amount <= 0:
        raise ValueError("refunds are positive")
    return refund


@step
async def approve(ctx: StepContext, refund: Refund) -> dict:
    if refund.amount > 100 and ctx.resume_data is None:
        await ctx.suspend({"question": f"refund {refund.amount} for {refund.order}?"})
    approved = True if ctx.resume_data is None else ctx.resume_data["approved"]
    return {"order": refund.order, "approved": approved}


def build(storage: SQLiteStorage) -> Workflow:
    return Workflow("refunds", input=Refund, storage=storage).then(check).then(approve).commit()


async def main() -> None:
    path = Path(tempfile.mkdtemp()) / "refunds.db"
    storage = SQLiteStorage(path)
    run = build(storage).create_run()
    first = await run.start(Refund("A-1", 250.0))
    print(first.status, first.steps["approve"].suspend_payload)
    await storage.close()

    storage = SQLiteStorage(path)  # as if after a restart
    reloaded = await build(storage).get_run(run.run_id)
    done = await reloaded.resume(step="approve", data={"approved": True})
    print(done.status, done.result)
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main())
