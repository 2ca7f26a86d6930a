"""One storage object shared by several event loops: asyncio.run() after asyncio.run(), and
threads that each run their own loop at the same time. Nothing hangs, nothing is lost."""

import asyncio
import threading

import pytest

from mastra.messages import Message
from mastra.storage import InMemoryStorage, PostgresStorage, SQLiteStorage, StoredMessage, Thread


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def shared(request, tmp_path):
    if request.param == "memory":
        return InMemoryStorage()
    if request.param == "sqlite":
        return SQLiteStorage(tmp_path / "loops.db")
    return PostgresStorage(request.getfixturevalue("postgres_dsn"))


def test_one_storage_serves_many_event_loops(shared):
    async def write(worker: int) -> None:
        await shared.save_thread(Thread(id=f"t{worker}", resource_id="r"))
        for n in range(20):
            message = Message.user(f"{worker}:{n}")
            await shared.save_messages(
                [StoredMessage.of(message, id=f"m{worker}-{n}", thread_id=f"t{worker}")]
            )

    asyncio.run(write(0))
    asyncio.run(write(1))  # a second loop, after the first one ended
    threads = [threading.Thread(target=asyncio.run, args=(write(w),)) for w in range(2, 6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a loop hung on the shared storage"

    async def check() -> list[list[str]]:
        found = []
        for worker in range(6):
            messages = await shared.list_messages(f"t{worker}", limit=100)
            found.append([m.to_message().text for m in messages])
        await shared.aclose()
        return found

    assert asyncio.run(check()) == [[f"{w}:{n}" for n in range(20)] for w in range(6)]
