"""A small knowledge base end to end: write a few files, ingest them into SQLite (chunked,
embedded, with a manifest), ingest again (nothing changes), edit and delete a file (only that
changes), search with hybrid retrieval, and give an agent's model a search tool.

Offline: HashingEmbedder stands in for an embedding model.
Run: python examples/rag_knowledge_base.py
"""

import asyncio
import tempfile
from pathlib import Path

from mastra.messages import ToolCall
from mastra.rag import HashingEmbedder, MarkdownChunker, ingest, retrieve, vector_query_tool
from mastra.vector import SQLiteVector

FILES = {
    "owls.md": "# Owls\n\nOwls hunt at night. Barn owls find mice by sound alone.\n\n"
    "## Diet\n\nMostly rodents, sometimes insects.",
    "salmon.md": "# Salmon\n\nSalmon swim upstream to spawn in the river where they hatched.",
    "eagles.md": "# Eagles\n\nEagles soar on thermals and catch fish from rivers and lakes.",
}


async def main(folder: Path) -> None:
    docs = folder / "docs"
    docs.mkdir()
    for name, text in FILES.items():
        (docs / name).write_text(text, encoding="utf-8")
    embedder, chunker = HashingEmbedder(256), MarkdownChunker(400, 0)

    async with SQLiteVector(folder / "rag.db") as store:
        report = await ingest([docs], store, "animals", embedder, chunker, progress=False)
        print(f"first run: {report.documents} documents, {report.chunks} chunks")
        report = await ingest([docs], store, "animals", embedder, chunker, progress=False)
        print(f"second run: {report.unchanged} unchanged, {report.chunks} chunks written")

        (docs / "eagles.md").unlink()
        (docs / "owls.md").write_text("# Owls\n\nOwls are silent fliers.", encoding="utf-8")
        report = await ingest([docs], store, "animals", embedder, chunker, progress=False)
        print(f"after edits: {report.documents} rewritten, {report.deleted} removed")

        for hit in await retrieve("where do salmon spawn", store, "animals", embedder, top_k=2):
            name = Path(hit.metadata["source"]).name
            print(f"  {hit.score:.4f} {name} {hit.metadata['headers']}: {hit.metadata['text']!r}")

        search = vector_query_tool(store, "animals", embedder)
        call = ToolCall("call-1", search.id, {"query": "silent owls", "top_k": 1})
        outcome = await search.run(call)
        print(f"tool {search.id} -> {outcome.result.content[0]['text']!r}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
