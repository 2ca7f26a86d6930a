"""Time-ordered ids (UUIDv7) for messages, threads and runs: valid UUIDs, increasing within a
process, unique across processes, and the ids Memory, agents and workflows really write."""

import subprocess
import sys
import threading
import time
import uuid

from mastra.agent import Agent
from mastra.ids import new_id, new_ids
from mastra.llm.testing import TestModel
from mastra.memory import Memory
from mastra.messages import Message
from mastra.storage import InMemoryStorage
from mastra.workflows import Step, Workflow


def test_ids_are_uuid7_with_the_current_time_and_increase():
    before = time.time_ns() // 1_000_000
    ids = [new_id() for _ in range(3000)] + new_ids(5000) + [new_id()]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for text in (ids[0], ids[-1]):
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and parsed.hex == text
    assert before <= int(ids[0][:12], 16) and int(ids[-1][:12], 16) <= after + 2


def test_threads_never_share_an_id():
    made: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        for _ in range(500):
            out.extend(new_ids(3))
            out.append(new_id())

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for out in made for i in out]
    assert len(set(every)) == len(every) and all(out == sorted(out) for out in made)


def test_processes_never_share_an_id():
    code = "from mastra.ids import new_ids; print('\\n'.join(new_ids(20000)))"
    runs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    every = [line for run in runs for line in run.communicate()[0].split()]
    assert len(every) == 40000 and len(set(every)) == 40000


async def test_memory_agents_and_workflows_write_time_ordered_ids():
    memory = Memory(storage=InMemoryStorage())
    thread = await memory.create_thread("r")
    first = await memory.save_messages(thread.id, [Message.user(str(i)) for i in range(50)])
    later = await memory.save_messages(thread.id, [Message.user("later")])
    ids = [m.id for m in first + later]
    assert ids == sorted(ids) and thread.id < ids[0]
    assert all(uuid.UUID(i).version == 7 for i in [thread.id, *ids])
    result = await Agent("a", "", TestModel()).generate("hi")
    run = Workflow("w").then(Step("s", lambda ctx, n: n)).commit().create_run()
    assert ids[-1] < result.run_id < run.run_id
    assert uuid.UUID(result.run_id).version == uuid.UUID(run.run_id).version == 7
