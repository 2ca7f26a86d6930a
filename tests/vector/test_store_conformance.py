"""The VectorStore behaviour, the same for InMemoryVector, SQLiteVector and PgVector."""

import numpy as np
import pytest

from mastra.errors import NotFoundError, ValidationError
from mastra.vector import IndexStats, InMemoryVector, VectorStore
from mastra.vector.pgvector import PgVector
from mastra.vector.sqlite import SQLiteVector

D = 16
RNG = np.random.default_rng(7)
VECTORS = RNG.standard_normal((200, D)).astype(np.float32)
META = [
    {
        "tenant": i % 5,
        "kind": ["doc", "faq", "post"][i % 3],
        "score": float(i),
        "tags": ["a", "b"] if i % 4 == 0 else ["c"],
        "author": {"name": f"n{i % 7}"},
        **({"draft": True} if i % 10 == 0 else {}),
    }
    for i in range(200)
]
IDS = [f"v{i:03d}" for i in range(200)]
FILTERS = [
    None,
    {"tenant": 3},
    {"kind": {"$in": ["faq", "post"]}, "score": {"$gte": 50}},
    {"tags": "a"},
    {"author.name": "n2"},
    {"draft": {"$exists": True}},
    {"kind": {"$ne": "doc"}, "score": {"$lt": 100}},
    {"$or": [{"tenant": 1}, {"score": {"$gt": 190}}]},
    {"$not": {"tenant": {"$nin": [2, 4]}}},
    {"score": {"$not": {"$gte": 20}}},
    {"author.name": {"$gt": "n5"}},
]


@pytest.fixture(params=["memory", "memory-hnsw", "sqlite", "pgvector"])
async def store(request, tmp_path):
    if request.param == "memory":
        made = InMemoryVector()
    elif request.param == "memory-hnsw":
        made = InMemoryVector(index="hnsw")
    elif request.param == "sqlite":
        made = SQLiteVector(tmp_path / "vectors.db")
    else:
        made = PgVector(request.getfixturevalue("postgres_dsn"))
    yield made
    await made.aclose()


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
async def test_same_answers_as_the_exact_reference(store, metric):
    assert isinstance(store, VectorStore)
    reference = InMemoryVector()
    for target in (store, reference):
        await target.create_index("docs", D, metric)
        assert await target.upsert("docs", VECTORS, META, IDS) == IDS
    query = RNG.standard_normal(D).astype(np.float32)
    for spec in FILTERS:
        want = await reference.query("docs", query, 7, spec)
        got = await store.query("docs", query, 7, spec)
        assert [r.id for r in got] == [r.id for r in want], spec
        np.testing.assert_allclose(
            [r.score for r in got], [r.score for r in want], rtol=1e-4, atol=1e-4
        )
        assert [r.metadata for r in got] == [r.metadata for r in want]
    [hit] = await store.query("docs", VECTORS[5], 1, include_vector=True)
    assert hit.id == "v005" if metric != "dot" else True
    np.testing.assert_allclose(
        (
            await store.query(
                "docs", VECTORS[5], 1, filter={"tenant": 0, "score": 5.0}, include_vector=True
            )
        )[0].vector,
        VECTORS[5],
        rtol=1e-6,
    )


async def test_lifecycle_updates_and_errors(store):
    await store.create_index("docs", D, "euclidean")
    await store.create_index("docs", D, "euclidean")  # idempotent
    with pytest.raises(ValidationError, match="exists with dimension=16"):
        await store.create_index("docs", 8, "euclidean")
    with pytest.raises(ValidationError, match="invalid index name"):
        await store.create_index("drop table x; --", D)
    await store.upsert("docs", VECTORS[:10], META[:10], IDS[:10])
    generated = await store.upsert("docs", VECTORS[10:12])
    assert len(generated) == 2 and all(len(i) == 32 for i in generated)
    assert await store.describe_index("docs") == IndexStats(D, 12, "euclidean", "float32")
    await store.update_vector("docs", "v003", vector=VECTORS[100] * 0 + 50)
    await store.update_vector("docs", "v004", metadata={"tenant": 99})
    [far] = await store.query("docs", np.full(D, 50, dtype=np.float32), 1)
    assert far.id == "v003" and far.score == pytest.approx(0, abs=1e-3)
    [moved] = await store.query("docs", VECTORS[4], 1, filter={"tenant": 99})
    assert moved.id == "v004" and moved.metadata == {"tenant": 99}
    await store.delete_vector("docs", "v000")
    assert (await store.describe_index("docs")).count == 11
    assert "v000" not in [r.id for r in await store.query("docs", VECTORS[0], 20)]
    with pytest.raises(NotFoundError):
        await store.delete_vector("docs", "v000")
    with pytest.raises(NotFoundError):
        await store.update_vector("docs", "ghost", metadata={})
    with pytest.raises(ValidationError, match="dimension 3"):
        await store.upsert("docs", np.ones((1, 3)))
    with pytest.raises(ValidationError, match="NaN or infinity"):
        await store.upsert("docs", np.full((1, D), np.nan))
    with pytest.raises(ValidationError, match="unknown operator"):
        await store.query("docs", VECTORS[0], 3, filter={"x": {"$regex": "a"}})
    with pytest.raises(NotFoundError, match="unknown vector index 'nope'"):
        await store.query("nope", VECTORS[0])
    assert await store.list_indexes() == ["docs"]
    await store.delete_index("docs")
    assert await store.list_indexes() == []


@pytest.mark.parametrize("name", ["t1\n", "t1\r", "\nt1", "t 1", "1t", "x" * 64])
async def test_index_names_are_matched_whole(store, name):
    with pytest.raises(ValidationError, match="invalid index name"):
        await store.create_index(name, D)
    assert await store.list_indexes() == []


async def test_a_filter_typo_is_an_error_not_an_empty_result(store):
    await store.create_index("docs", D, "dot")
    await store.upsert("docs", VECTORS[:20], META[:20], IDS[:20])
    with pytest.raises(ValidationError, match=r"did you mean \$gt\?"):
        await store.query("docs", VECTORS[0], 5, filter={"score": {"gt": 10}})
    assert len(await store.query("docs", VECTORS[0], 5, filter={"score": {"$gt": 10}})) == 5


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
async def test_non_finite_metadata_is_rejected_and_nothing_changes(store, bad):
    await store.create_index("docs", D, "dot")
    await store.upsert("docs", VECTORS[:2], [{"a": 1}, {"a": 2}], ["x", "y"])
    with pytest.raises(ValidationError, match=r"metadata\[1\]\.deep\.list\[2\] is -?(nan|inf)"):
        await store.upsert(
            "docs", VECTORS[2:4], [{"a": 3}, {"deep": {"list": [1, 2, bad]}}], ["x", "z"]
        )
    with pytest.raises(ValidationError, match=r"metadata\.score is -?(nan|inf)"):
        await store.update_vector("docs", "y", vector=VECTORS[9], metadata={"score": bad})
    hits = await store.query("docs", VECTORS[0], 10, include_vector=True)
    assert {h.id: h.metadata for h in hits} == {"x": {"a": 1}, "y": {"a": 2}}
    vectors = {h.id: h.vector for h in hits}
    np.testing.assert_allclose([vectors["x"], vectors["y"]], VECTORS[:2], rtol=1e-6)
