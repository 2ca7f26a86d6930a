"""run_sync: the loop behind every ``*_sync`` twin is one per thread, kept between calls, and
closed (with what it opened) after its thread ended; a forked child never touches it."""

import asyncio
import gc
import os
import threading

import pytest

from mastra.errors import MastraError
from mastra.loops import PerLoop, run_sync


async def running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def loop_of_this_thread() -> asyncio.AbstractEventLoop:
    return run_sync(running_loop, name="t()", instead="await t()")


def test_one_loop_per_thread_kept_between_calls():
    first, again = loop_of_this_thread(), loop_of_this_thread()
    assert first is again and not first.is_closed()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(loop_of_this_thread()))
    thread.start()
    thread.join()
    assert seen[0] is not first


def test_a_threads_loop_and_its_resources_close_after_the_thread_ended():
    closed = []

    async def open_resource():
        return "pool"

    async def close_resource(value):
        closed.append(value)

    pool = PerLoop(open_resource, close_resource)
    loops = []

    def work():
        assert run_sync(pool.get, name="t()", instead="await t()") == "pool"
        assert run_sync(pool.get, name="t()", instead="await t()") == "pool"  # reused
        loops.append(loop_of_this_thread())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert closed == []  # the Thread object is still referenced
    del thread
    gc.collect()
    assert closed == ["pool"] and loops[0].is_closed()


def test_refused_inside_a_running_loop():
    async def inside():
        with pytest.raises(MastraError, match=r"use await t\(\) there"):
            loop_of_this_thread()

    asyncio.run(inside())


def test_a_forked_child_makes_its_own_loop_and_leaves_the_parents():
    parent = loop_of_this_thread()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own loop, the parent's untouched
        child = loop_of_this_thread()
        os.write(write, b"ok" if child is not parent and not parent.is_closed() else b"no")
        os._exit(0)
    os.close(write)
    assert os.read(read, 2) == b"ok"
    os.close(read)
    os.waitpid(pid, 0)
    assert loop_of_this_thread() is parent and not parent.is_closed()


def test_an_interrupt_cancels_the_work_it_stopped():
    """Ctrl-C (a KeyboardInterrupt out of the loop) leaves no half-run work pending on the
    kept loop to resume during a later call."""
    seen = []

    def interrupt():
        raise KeyboardInterrupt

    async def slow():
        asyncio.get_running_loop().call_later(0.01, interrupt)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with pytest.raises(KeyboardInterrupt):
        run_sync(slow, name="t()", instead="await t()")
    assert seen == ["cancelled"]
    assert not asyncio.all_tasks(loop_of_this_thread())
