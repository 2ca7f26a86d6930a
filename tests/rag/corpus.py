"""Real text for the RAG tests: CPython's pydoc topics, on every machine."""

import pydoc_data.topics

TOPICS = pydoc_data.topics.topics


def write_corpus(folder, count=40, start=0):
    """``count`` topic files (``NAME.txt``), the same text for the same names each time."""
    folder.mkdir(parents=True, exist_ok=True)
    names = sorted(TOPICS)[start : start + count]
    for name in names:
        (folder / f"{name}.txt").write_text(TOPICS[name], encoding="utf-8")
    return names


async def contents(store, index):
    """Every row of an index as {id: (metadata, vector)} (vectors rounded for comparison)."""
    count = (await store.describe_index(index)).count
    if count == 0:
        return {}
    dim = (await store.describe_index(index)).dimension
    rows = await store.query(index, [1.0] * dim, top_k=count, include_vector=True)
    return {r.id: (r.metadata, [round(v, 5) for v in r.vector]) for r in rows}


async def documents(store, index):
    """The manifest rows (documents), generation row left out."""
    rows = await contents(store, index + "__docs")
    return {k: v[0] for k, v in rows.items() if v[0].get("kind") == "document"}


async def journals(store, index):
    """The manifest's journal rows (batches a run was writing when it died): for each, its
    documents as (id, chunk count, root)."""
    rows = await contents(store, index + "__docs")
    flat = [v[0]["docs"] for v in rows.values() if v[0].get("kind") == "journal"]
    return [list(zip(f[0::3], f[1::3], f[2::3], strict=True)) for f in flat]
