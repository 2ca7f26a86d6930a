"""InMemoryVector(index="hnsw"): approximate answers close to the exact scan's, filters always
honoured, deletes and updates never leaving stale ids, snapshots, and its settings checked."""

import numpy as np
import pytest

from mastra.errors import ValidationError
from mastra.vector import InMemoryVector

N, D, K = 12000, 16, 10
RNG = np.random.default_rng(11)
VECTORS = RNG.standard_normal((N, D)).astype(np.float32)
IDS = [f"v{i}" for i in range(N)]
META = [
    {"half": i % 2, "pct": i % 100, "side": "pos" if VECTORS[i, 0] > 0 else "neg"} for i in range(N)
]
QUERIES = RNG.standard_normal((30, D)).astype(np.float32)
# small graph settings, so that 12000 rows are searched on the graph, not scanned
SMALL = {"connectivity": 8, "expansion_add": 64, "expansion_search": 32}


async def pair(metric="cosine", **settings):
    exact, hnsw = InMemoryVector(), InMemoryVector(index="hnsw", **(SMALL | settings))
    for store in (exact, hnsw):
        await store.create_index("d", D, metric)
        await store.upsert("d", VECTORS, META, IDS)
    return exact, hnsw


async def recall(exact, hnsw, queries, spec=None, k=K):
    found = []
    for query in queries:
        want = {r.id for r in await exact.query("d", query, k, spec)}
        got = await hnsw.query("d", query, k, spec)
        assert len(got) == len(want)
        found.append(len(want & {r.id for r in got}) / len(want))
    return float(np.mean(found))


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
async def test_recall_against_the_exact_scan_and_exact_scores(metric):
    exact, hnsw = await pair(metric)
    assert await recall(exact, hnsw, QUERIES) >= 0.8
    got = await hnsw.query("d", QUERIES[0], K)
    # the graph's candidates are re-ranked on the float32 rows: scores are the exact ones
    rows = [int(r.id[1:]) for r in got]
    q = QUERIES[0]
    if metric == "cosine":
        want = VECTORS[rows] @ q / np.linalg.norm(VECTORS[rows], axis=1) / np.linalg.norm(q)
    elif metric == "dot":
        want = VECTORS[rows] @ q
    else:
        want = np.linalg.norm(VECTORS[rows] - q, axis=1)
    np.testing.assert_allclose([r.score for r in got], want, rtol=1e-4, atol=1e-5)
    scores = [r.score for r in got]
    assert scores == sorted(scores, reverse=metric != "euclidean")


@pytest.mark.parametrize(
    "spec",
    [
        {"half": 1},  # a value index, half the rows: the graph, over-fetched
        {"$or": [{"pct": {"$lt": 30}}, {"half": 0}]},  # a mask, 65%
        {"pct": 7},  # 1%: scanned exactly
        {"side": "neg"},  # the far side of the queries: the fetch grows
    ],
)
async def test_filters_are_honoured(spec):
    exact, hnsw = await pair()
    queries = np.abs(QUERIES[:10]) * np.array([4] + [1] * (D - 1), dtype=np.float32)
    score = await recall(exact, hnsw, queries, spec)
    for query in queries:
        for hit in await hnsw.query("d", query, K, spec):
            meta = META[int(hit.id[1:])]
            assert hit.metadata == meta
            assert all(
                meta[key] == value
                for key, value in spec.items()
                if not key.startswith("$") and not isinstance(value, dict)
            )
    assert score >= (1.0 if spec == {"pct": 7} else 0.8)


async def test_deletes_and_updates_leave_no_stale_ids():
    exact, hnsw = await pair()
    gone = IDS[::3]
    for store in (exact, hnsw):
        for id_ in gone:
            await store.delete_vector("d", id_)
        await store.update_vector("d", "v1", vector=-VECTORS[2] * 3)
        await store.upsert("d", VECTORS[4:5] * -2, [{"half": 9}], ["v5"])
    assert (await hnsw.describe_index("d")).count == N - len(gone)
    for i in range(0, 60, 3):  # a deleted vector's own query does not find it
        assert IDS[i] not in {r.id for r in await hnsw.query("d", VECTORS[i], K)}
    for i in range(1, 60, 3):  # rows that moved into the holes are still found as themselves
        if i not in (1, 5):
            assert IDS[i] in {r.id for r in await hnsw.query("d", VECTORS[i], K)}
    assert "v1" in {r.id for r in await hnsw.query("d", -VECTORS[2], K)}
    [replaced] = await hnsw.query("d", -VECTORS[4], 1, filter={"half": 9})
    assert replaced.id == "v5"
    assert "v1" not in {r.id for r in await hnsw.query("d", VECTORS[1], K)}
    assert await recall(exact, hnsw, QUERIES) >= 0.8


async def test_rewriting_every_vector_reuses_graph_keys():
    """A service that rewrites its vectors for ever keeps a key space as large as the most
    vectors it held at once (it once grew by a key per vector written), and every vector is
    still found as itself."""
    n, rng = 3000, np.random.default_rng(5)
    store = InMemoryVector(index="hnsw", **SMALL)
    await store.create_index("d", D, "euclidean")
    for round_ in range(6):
        vectors = rng.standard_normal((n, D)).astype(np.float32)
        await store.upsert("d", vectors, [{"round": round_}] * n, IDS[:n])
        for i in range(0, n, 7):
            await store.delete_vector("d", IDS[i])
        await store.upsert("d", vectors[::7], [{"round": round_}] * len(vectors[::7]), IDS[:n:7])
    graph = store._indexes["d"].graph
    assert graph.next_key <= 2 * n
    assert (await store.describe_index("d")).count == n
    found = 0
    for i in range(0, n, 13):
        results = await store.query("d", vectors[i], 3, include_vector=True)
        for result in results:  # only this round's vectors, each under its own id
            assert result.metadata == {"round": 5}
            np.testing.assert_array_equal(result.vector, vectors[IDS.index(result.id)])
        found += results[0].id == IDS[i]
    # approximate, on a graph with holes and these small settings: 0.95-1.0 before keys were reused
    assert found / len(range(0, n, 13)) >= 0.9


async def ids_of(store, queries):
    return [[r.id for r in await store.query("d", q, K)] for q in queries]


async def test_save_and_load_keep_the_graph(tmp_path):
    exact, hnsw = await pair("euclidean")
    await hnsw.save("d", tmp_path / "d.npz")
    loaded = InMemoryVector(index="hnsw", **SMALL)
    assert await loaded.load(tmp_path / "d.npz") == "d"
    # the same graph, not a new one: the same answers, misses included
    assert await ids_of(loaded, QUERIES) == await ids_of(hnsw, QUERIES)
    for store in (exact, loaded):  # the saved keys still map to rows
        await store.delete_vector("d", "v7")
        await store.upsert("d", VECTORS[8:9] * 1.01, [{"new": True}], ["n1"])
    assert "v7" not in {r.id for r in await loaded.query("d", VECTORS[7], K)}
    assert "n1" in {r.id for r in await loaded.query("d", VECTORS[8] * 1.01, K)}
    assert await recall(exact, loaded, QUERIES) >= 0.8


async def test_load_builds_a_graph_when_the_file_has_none_or_a_bad_one(tmp_path):
    exact, hnsw = await pair("dot")
    await exact.save("d", tmp_path / "plain.npz")
    await hnsw.save("d", tmp_path / "graph.npz")
    with np.load(tmp_path / "graph.npz") as saved:
        arrays = dict(saved)
    arrays["graph"] = arrays["graph"][:100]  # cut short
    np.savez(tmp_path / "cut.npz", **arrays)
    for name in ("plain", "cut"):
        loaded = InMemoryVector(index="hnsw", **SMALL)
        await loaded.load(tmp_path / f"{name}.npz", "d")
        assert await recall(exact, loaded, QUERIES) >= 0.8
    plain = InMemoryVector()  # a graph in the file is ignored by an exact store
    await plain.load(tmp_path / "graph.npz", "d")
    assert await ids_of(plain, QUERIES) == await ids_of(exact, QUERIES)


async def test_small_indexes_are_exact():
    exact, hnsw = InMemoryVector(), InMemoryVector(index="hnsw")
    for store in (exact, hnsw):
        await store.create_index("d", D, "dot")
        await store.upsert("d", VECTORS[:500], META[:500], IDS[:500])
    assert await recall(exact, hnsw, QUERIES) == 1.0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"index": "ivf"}, "index must be 'exact' or 'hnsw', got 'ivf'"),
        ({"index": "hnsw", "connectivity": 1}, "connectivity must be an integer >= 2, got 1"),
        ({"index": "hnsw", "expansion_add": 0}, "expansion_add must be an integer >= 1"),
        ({"index": "hnsw", "expansion_search": "64"}, "expansion_search must be an integer"),
        ({"index": "hnsw", "connectivity": True}, "connectivity must be an integer"),
    ],
)
def test_bad_settings_are_validation_errors(settings, message):
    with pytest.raises(ValidationError, match=message):
        InMemoryVector(**settings)
