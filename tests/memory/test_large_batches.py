"""A large batch through Memory.save_messages shares the event loop: the messages are made in
chunks between which other tasks run, and they keep their order, times and ids."""

import asyncio

from mastra.memory import Memory, MemoryOptions
from mastra.messages import Message
from mastra.storage import InMemoryStorage


async def test_a_large_save_lets_other_tasks_run_and_keeps_order():
    memory = Memory(storage=InMemoryStorage(), options=MemoryOptions(semantic_recall=None))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    messages = [Message.user(str(i)) for i in range(2000)]
    given = [f"m{i:04d}" for i in range(2000)]
    stored = await memory.save_messages("t", messages, resource_id="r", ids=given)
    during = ticks - before
    task.cancel()
    assert during >= 5  # the loop ran other tasks while the batch was made
    assert [m.id for m in stored] == given
    assert [m.to_message().text for m in stored] == [str(i) for i in range(2000)]
    times = [m.created_at for m in stored]
    assert times == sorted(times) and len(set(times)) == len(times)
