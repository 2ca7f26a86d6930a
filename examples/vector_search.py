"""Index a few thousand vectors, query with a metadata filter, save and reload the index.

Run: python examples/vector_search.py
"""

import asyncio
import tempfile
from pathlib import Path

import numpy as np

from mastra.vector import InMemoryVector, top_k


async def main() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((5000, 64)).astype(np.float32)
    metadata = [{"lang": "en" if i % 3 else "de", "year": 2015 + i % 10} for i in range(5000)]

    store = InMemoryVector()
    await store.create_index("docs", 64, "cosine", dtype="int8")
    await store.upsert("docs", vectors, metadata, ids=[f"doc-{i}" for i in range(5000)])

    query = vectors[42] + 0.1 * rng.standard_normal(64).astype(np.float32)
    for hit in await store.query("docs", query, 3, filter={"year": {"$gte": 2020}}):
        print(f"{hit.id:>9}  {hit.score:.3f}  {hit.metadata}")

    path = Path(tempfile.mkdtemp()) / "docs.npz"
    await store.save("docs", path)
    reloaded = InMemoryVector()
    await reloaded.load(path)
    print("reloaded:", await reloaded.describe_index("docs"))

    ids, scores = top_k(vectors, query, 3, "cosine")  # the kernel on its own
    print("top_k rows:", ids.tolist(), scores.round(3).tolist())


if __name__ == "__main__":
    asyncio.run(main())
