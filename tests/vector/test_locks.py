"""The stores' read/write lock: exclusion across threads' event loops, fairness, cancellation."""

import asyncio
import threading

from mastra.vector.locks import ReadWriteLock


async def hold(context, log, name, seconds=0.0):
    async with context:
        log.append(f"+{name}")
        await asyncio.sleep(seconds)
        log.append(f"-{name}")


async def test_a_waiting_writer_goes_before_later_readers():
    lock, log = ReadWriteLock(), []
    first = asyncio.create_task(hold(lock.read(), log, "r1", 0.01))
    await asyncio.sleep(0)
    writer = asyncio.create_task(hold(lock.write(), log, "w"))
    await asyncio.sleep(0)
    late = asyncio.create_task(hold(lock.read(), log, "r2"))
    await asyncio.gather(first, writer, late)
    assert log == ["+r1", "-r1", "+w", "-w", "+r2", "-r2"]


async def test_cancelled_waiters_give_the_lock_back():
    lock, log = ReadWriteLock(), []
    async with lock.read():
        writer = asyncio.create_task(hold(lock.write(), log, "w1"))
        await asyncio.sleep(0)
        reader = asyncio.create_task(hold(lock.read(), log, "r"))  # queued behind the writer
        await asyncio.sleep(0)
        writer.cancel()  # leaving the queue lets the reader in beside us
        await asyncio.wait_for(reader, 1)
    reading = lock.read()
    await reading.__aenter__()
    writer = asyncio.create_task(hold(lock.write(), log, "w2"))
    await asyncio.sleep(0)
    await reading.__aexit__(None, None, None)  # hands the lock to w2 ...
    writer.cancel()  # ... which is cancelled before it runs
    await asyncio.gather(writer, return_exceptions=True)
    await asyncio.wait_for(hold(lock.write(), log, "w3"), 1)
    assert log == ["+r", "-r", "+w3", "-w3"]


def test_writers_exclude_each_other_across_event_loops():
    lock, state = ReadWriteLock(), {"inside": 0, "overlaps": 0, "count": 0}

    async def work():
        for _ in range(200):
            async with lock.write():
                state["inside"] += 1
                state["overlaps"] += state["inside"] > 1
                await asyncio.sleep(0)
                state["count"] += 1
                state["inside"] -= 1
            async with lock.read():
                state["overlaps"] += state["inside"] > 0
                await asyncio.sleep(0)

    threads = [threading.Thread(target=asyncio.run, args=(work(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    assert state == {"inside": 0, "overlaps": 0, "count": 800}
