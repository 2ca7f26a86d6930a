"""Agent start-up: an agent on a chat model loads what a chat needs, not numpy, tiktoken,
memory, RAG or vector code (they load where a vector, a memory or a token count is used).
The storage protocol and its SQLite backend (~7 ms) do come with the agent: tool approvals
suspend runs on run records."""

import ast
import subprocess
import sys

HEAVY = ["numpy", "tiktoken", "mastra.memory", "mastra.rag", "mastra.vector"]


def loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(out.stdout)


def test_an_agent_and_the_openai_provider_load_no_vector_memory_or_storage_code():
    assert loaded_after("from mastra import Agent; import mastra.llm.openai") == []


def test_numpy_arrives_with_the_first_embedding():
    statement = (
        "import asyncio; from mastra.llm.testing import TestModel; "
        "rows = asyncio.run(TestModel().embed(['a'])); assert rows.shape[0] == 1"
    )
    assert loaded_after(statement) == ["numpy"]
