"""Real text for the RAG tests: CPython's pydoc topics, on every machine."""

import json
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


FIELDS = ("id", "hash", "text_hash", "chunks", "state", "root")


async def documents(store, index):
    """The manifest's documents as {id: {field: value}}, read from its pages (the one with
    the higher number wins where two list a document)."""
    rows = await contents(store, index + "__docs")
    pages = sorted((m["seq"], m["docs"]) for m, _ in rows.values() if m.get("kind") == "page")
    found = {}
    for _, docs in pages:
        flat = json.loads(docs)
        for at in range(0, len(flat), len(FIELDS)):
            entry = dict(zip(FIELDS, flat[at : at + len(FIELDS)], strict=True))
            found[entry["id"]] = entry
    return found


async def journals(store, index):
    """The manifest's journal rows (batches a run was writing when it died): for each, its
    documents as (id, chunk count, root)."""
    rows = await contents(store, index + "__docs")
    flat = [v[0]["docs"] for v in rows.values() if v[0].get("kind") == "journal"]
    return [list(zip(f[0::3], f[1::3], f[2::3], strict=True)) for f in flat]
