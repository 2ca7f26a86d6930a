import asyncio

import numpy as np
import pytest

from mastra import NotFoundError, StorageError, ValidationError
from mastra.vector import IndexStats, InMemoryVector, VectorStore, top_k

DTYPES = ["float32", "float16", "int8"]


@pytest.fixture
def store():
    return InMemoryVector()


def test_implements_the_protocol(store):
    assert isinstance(store, VectorStore)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
async def test_query_matches_top_k_on_the_same_rows(store, metric, dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((700, 24)).astype(np.float32)
    await store.create_index("docs", 24, metric, dtype=dtype)
    ids = await store.upsert("docs", X, metadata=[{"i": i} for i in range(700)])
    assert len(set(ids)) == 700 and all(len(i) == 32 for i in ids)
    q = rng.standard_normal(24).astype(np.float32)
    results = await store.query("docs", q, top_k=7, include_vector=True)
    want_rows, want_scores = top_k(X, q, 7, metric)
    assert [r.metadata["i"] for r in results] == want_rows.tolist()
    np.testing.assert_allclose([r.score for r in results], want_scores, rtol=1e-5, atol=1e-5)
    assert results[0].vector == pytest.approx(X[want_rows[0]].tolist())
    assert (await store.describe_index("docs")) == IndexStats(24, 700, metric, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
async def test_upsert_overwrites_update_and_delete_keep_rows_consistent(store, dtype):
    await store.create_index("ix", 3, "euclidean", dtype=dtype)
    points = np.array([[i, 0, 0] for i in range(40)], dtype=np.float32)
    ids = [f"p{i}" for i in range(40)]
    await store.upsert("ix", points, [{"n": i} for i in range(40)], ids)
    # overwrite p5 to sit at x=100, add p40
    await store.upsert("ix", [[100, 0, 0], [7.2, 0, 0]], [{"n": 500}, {"n": 40}], ["p5", "p40"])
    assert [r.id for r in await store.query("ix", [100, 0, 0], 1)] == ["p5"]
    assert (await store.query("ix", [100, 0, 0], 1))[0].metadata == {"n": 500}
    # delete many (swap-with-last moves rows); every remaining id still finds itself
    for i in range(0, 40, 2):
        if i != 0:
            await store.delete_vector("ix", f"p{i}")
    await store.update_vector("ix", "p3", vector=[-50, 0, 0])
    await store.update_vector("ix", "p7", metadata={"n": 77})
    remaining = {"p0", "p5", "p40"} | {f"p{i}" for i in range(1, 40, 2)}
    assert (await store.describe_index("ix")).count == len(remaining)
    for r_id in remaining:
        [hit] = await store.query("ix", (await _vector_of(store, r_id)), 1, include_vector=True)
        assert hit.id == r_id and hit.score == pytest.approx(0, abs=1e-4)
    [hit] = await store.query("ix", [-50, 0, 0], 1)
    assert hit.id == "p3"
    assert (await store.query("ix", [7, 0, 0], 1, filter={"n": 77}))[0].id == "p7"


async def _vector_of(store, id_):
    everything = await store.query("ix", [0, 0, 0], 100, include_vector=True)
    return next(r.vector for r in everything if r.id == id_)


async def test_capacity_doubles_and_shrinks(store):
    await store.create_index("grow", 2)
    ids = await store.upsert("grow", np.ones((1000, 2)))
    target = store._indexes["grow"]
    assert target.capacity == 1024
    for id_ in ids[:900]:
        await store.delete_vector("grow", id_)
    assert target.count == 100 and target.capacity <= 512
    assert len(await store.query("grow", [1, 1], 1000)) == 100


async def test_filters_on_nested_keys_and_selectivity(store):
    await store.create_index("f", 4)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)).astype(np.float32)
    meta = [
        {"user": {"id": i % 10, "tier": "gold" if i % 3 == 0 else "free"}, "n": i}
        for i in range(300)
    ]
    await store.upsert("f", X, meta)
    results = await store.query("f", X[30], 300, filter={"user.id": 0, "user.tier": "gold"})
    assert sorted(r.metadata["n"] for r in results) == [
        i for i in range(300) if i % 10 == 0 and i % 3 == 0
    ]
    assert results[0].metadata["n"] == 30
    assert await store.query("f", X[0], 5, filter={"user.id": 99}) == []
    results = await store.query("f", X[0], 3, filter={"n": {"$in": [5, 6]}})
    assert sorted(r.metadata["n"] for r in results) == [5, 6]


async def test_index_management_and_errors(store):
    await store.create_index("a", 3)
    await store.create_index("a", 3)  # same settings: no-op
    await store.create_index("b", 3, "dot")
    assert await store.list_indexes() == ["a", "b"]
    with pytest.raises(ValidationError, match="exists with dimension=3"):
        await store.create_index("a", 4)
    with pytest.raises(ValidationError, match="invalid index name"):
        await store.create_index("bad-name; drop", 3)
    with pytest.raises(ValidationError, match="dimension must be an integer from 1 to 65536"):
        await store.create_index("c", 0)
    with pytest.raises(ValidationError, match="unknown storage dtype"):
        await store.create_index("c", 3, dtype="int4")
    with pytest.raises(NotFoundError, match="unknown vector index 'zz'; indexes: a, b"):
        await store.query("zz", [1, 2, 3])
    with pytest.raises(ValidationError, match="dimension 2; the index has dimension 3"):
        await store.upsert("a", [[1, 2]])
    with pytest.raises(ValidationError, match="NaN or infinity"):
        await store.upsert("a", [[1, np.nan, 2]])
    with pytest.raises(ValidationError, match="2 ids for 1 vectors"):
        await store.upsert("a", [[1, 2, 3]], ids=["x", "y"])
    with pytest.raises(ValidationError, match="ids repeat"):
        await store.upsert("a", [[1, 2, 3], [1, 2, 3]], ids=["x", "x"])
    with pytest.raises(ValidationError, match="metadata\\[0\\] is not JSON"):
        await store.upsert("a", [[1, 2, 3]], metadata=[{"x": object()}])
    with pytest.raises(ValidationError, match="must be an object"):
        await store.upsert("a", [[1, 2, 3]], metadata=["x"])
    with pytest.raises(ValidationError, match="query has shape \\(1, 3\\); expected a 1-D array"):
        await store.query("a", [[1, 2, 3]])
    with pytest.raises(ValidationError, match="unknown operator"):
        await store.query("a", [1, 2, 3], filter={"x": {"$near": 1}})
    with pytest.raises(NotFoundError, match="no vector with id 'nope'"):
        await store.delete_vector("a", "nope")
    with pytest.raises(NotFoundError, match="no vector with id 'nope'"):
        await store.update_vector("a", "nope", metadata={})
    with pytest.raises(ValidationError, match="needs a vector, metadata or both"):
        await store.update_vector("a", "x")
    assert await store.upsert("a", np.empty((0, 3))) == []
    await store.create_index("half", 2, "dot", dtype="float16")
    with pytest.raises(ValidationError, match="float16 cannot store"):
        await store.upsert("half", [[1e6, 0]])
    # nothing of the failed calls was stored
    assert (await store.describe_index("a")).count == 0
    await store.delete_index("b")
    assert await store.list_indexes() == ["a", "half"]


async def test_stored_metadata_is_isolated_from_callers(store):
    await store.create_index("m", 2)
    meta = {"tags": ["a"]}
    await store.upsert("m", [[1, 0]], [meta], ["x"])
    meta["tags"].append("b")
    [hit] = await store.query("m", [1, 0], 1)
    hit.metadata["tags"].append("c")
    assert (await store.query("m", [1, 0], 1))[0].metadata == {"tags": ["a"]}


@pytest.mark.parametrize("dtype", DTYPES)
async def test_save_and_load_round_trip(store, tmp_path, dtype):
    await store.create_index("docs", 8, "cosine", dtype=dtype)
    X = np.random.default_rng(1).standard_normal((50, 8)).astype(np.float32)
    await store.upsert(
        "docs", X, [{"i": i, "deep": {"k": [i]}} for i in range(50)], [f"d{i}" for i in range(50)]
    )
    path = tmp_path / "docs.npz"
    await store.save("docs", path)
    fresh = InMemoryVector()
    assert await fresh.load(path) == "docs"
    before = await store.query("docs", X[3], 5)
    after = await fresh.query("docs", X[3], 5)
    assert before == after
    assert await fresh.describe_index("docs") == await store.describe_index("docs")
    with pytest.raises(ValidationError, match="exists"):
        await fresh.load(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(StorageError, match="cannot read vector index"):
        await fresh.load(path, name="other")


async def test_concurrent_queries_and_writes_never_mix(store):
    """Queries running in worker threads and upserts/deletes on the loop are serialised per
    index: every result maps to a live id with its own vector."""
    d = 64
    await store.create_index("c", d, "dot")
    rng = np.random.default_rng(9)
    base = rng.standard_normal((20_000, d)).astype(np.float32)  # big enough to offload
    await store.upsert(
        "c", base, [{"row": i} for i in range(len(base))], [f"r{i}" for i in range(len(base))]
    )

    async def writer():
        for i in range(30):
            await store.upsert(
                "c", rng.standard_normal((50, d)), ids=[f"w{i}_{j}" for j in range(50)]
            )
            await store.delete_vector("c", f"r{i}")

    async def reader():
        for _ in range(30):
            q = rng.standard_normal(d).astype(np.float32)
            for hit in await store.query("c", q, 5, include_vector=True):
                assert float(np.dot(hit.vector, q)) == pytest.approx(hit.score, rel=1e-3, abs=1e-3)

    await asyncio.gather(writer(), reader(), reader())
    assert (await store.describe_index("c")).count == 20_000 + 30 * 50 - 30
