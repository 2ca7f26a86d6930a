"""open_vectors / open_storage URLs: ``memory://?...`` passes the in-memory store's options,
and an option a backend does not take, or a value that does not parse, is a ConfigError."""

import numpy as np
import pytest

from mastra.errors import ConfigError, ValidationError
from mastra.storage import open_storage
from mastra.vector import InMemoryVector, open_vectors

N, D, K = 4000, 16, 10
RNG = np.random.default_rng(5)
VECTORS = RNG.standard_normal((N, D)).astype(np.float32)
QUERIES = RNG.standard_normal((20, D)).astype(np.float32)
IDS = [f"v{i}" for i in range(N)]


async def found(store):
    await store.create_index("d", D, "cosine")
    await store.upsert("d", VECTORS, ids=IDS)
    return [{r.id for r in await store.query("d", q, K)} for q in QUERIES]


async def test_memory_url_options_select_the_hnsw_graph_and_its_settings():
    exact = await found(open_vectors("memory://"))
    assert exact == await found(InMemoryVector())  # no options: the exact scan
    # the poorest graph the settings allow misses neighbours the exact scan finds
    url = "memory://?index=hnsw&connectivity=2&expansion_add=1&expansion_search=1"
    store = open_vectors(url)
    assert isinstance(store, InMemoryVector)
    coarse = await found(store)
    recall = sum(len(a & b) for a, b in zip(exact, coarse, strict=True)) / (len(QUERIES) * K)
    assert recall < 1.0


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("memory://?ef=3", ConfigError, r"takes no option 'ef'; it takes: connectivity, "),
        ("memory://?index=hnsw&connectivity=many", ConfigError, r"connectivity='many'.*int"),
        ("memory://?index=ivf", ValidationError, r"index must be 'exact' or 'hnsw', got 'ivf'"),
    ],
)
def test_bad_memory_url_options_say_what_is_accepted(url, error, message):
    with pytest.raises(error, match=message):
        open_vectors(url)


def test_memory_storage_takes_no_options():
    with pytest.raises(ConfigError, match=r"memory:// storage takes no option 'x'; it takes: none"):
        open_storage("memory://?x=1")
