"""``mastra ingest`` and ``mastra query``: :func:`add_commands` adds them to the ``mastra``
command's subparsers."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import orjson

from mastra.errors import ValidationError

__all__ = ["add_commands"]

INGEST_HELP = """Load files (text, Markdown, HTML, JSON, CSV, PDF) from PATHs (folders are
walked with --glob), chunk them, embed them and store them in a vector index. Run it again
after editing files: only what changed is re-embedded, and documents of deleted files are
removed. Safe to interrupt: the next run completes the work."""


def _embedder(spec: str, dimension: int) -> Any:
    """``hashing`` (offline, the default), ``local:PATH`` (a model2vec folder) or a provider
    model ``provider/model`` (its API key from the environment)."""
    from mastra.rag.embedders import HashingEmbedder, ModelEmbedder

    if spec == "hashing":
        return HashingEmbedder(dimension)
    if spec.startswith("local:"):
        from mastra.rag.local import LocalEmbedder

        return LocalEmbedder(spec.removeprefix("local:"))
    from mastra.llm import get_model

    return ModelEmbedder(get_model(spec), dimension)


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, help="vector index name")
    parser.add_argument(
        "--db", default="sqlite:///rag.db", help="vector store URL (default sqlite:///rag.db)"
    )
    parser.add_argument(
        "--embedder",
        default="hashing",
        help="hashing (default, offline), local:PATH (model2vec folder) or provider/model",
    )
    parser.add_argument(
        "--dimension", type=int, default=256, help="embedding size for hashing/provider models"
    )


async def _ingest(args: argparse.Namespace) -> int:
    from mastra.rag.chunkers import RecursiveChunker
    from mastra.rag.ingest import ingest
    from mastra.vector import open_vectors

    chunker = RecursiveChunker(args.chunk_size, args.overlap)
    embedder = _embedder(args.embedder, args.dimension)
    async with open_vectors(args.db) as store:  # type: ignore[attr-defined]
        report = await ingest(
            args.paths, store, args.index, embedder, chunker, glob=args.glob or None
        )
    print(
        f"{report.documents} documents written ({report.chunks} chunks), "
        f"{report.unchanged} unchanged, {report.deleted} removed, "
        f"{len(report.skipped)} skipped in {report.seconds:.1f} s"
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.source}: {skipped.reason}")
    if report.encoding_errors:
        print(f"  {report.encoding_errors} undecodable byte runs replaced by U+FFFD")
    return 0


async def _query(args: argparse.Namespace) -> int:
    from mastra.rag.retrieve import retrieve
    from mastra.vector import open_vectors

    try:
        where = orjson.loads(args.filter) if args.filter else None
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"--filter is not valid JSON: {exc}") from None
    async with open_vectors(args.db) as store:  # type: ignore[attr-defined]
        embedder = _embedder(args.embedder, (await store.describe_index(args.index)).dimension)
        results = await retrieve(
            args.text, store, args.index, embedder, args.top_k, where, hybrid=not args.vector_only
        )
    if args.json:
        print(orjson.dumps([_result(r) for r in results], option=orjson.OPT_INDENT_2).decode())
        return 0
    for rank, result in enumerate(results, start=1):
        meta = result.metadata
        print(f"{rank}. {meta.get('source', result.id)} [{meta.get('start')}:{meta.get('end')}]")
        print(f"   score {result.score:.4f}")
        print("   " + " ".join(str(meta.get("text", "")).split())[:300])
    return 0


def _result(result: Any) -> dict[str, Any]:
    return {"id": result.id, "score": result.score, "metadata": result.metadata}


def add_commands(subparsers: Any) -> None:
    """Add ``ingest`` and ``query`` to an ``argparse`` subparsers object (each sets ``run``
    to a function of the parsed arguments returning the exit code)."""
    ingest = subparsers.add_parser(
        "ingest",
        help="load, chunk, embed and store files in a vector index",
        description=INGEST_HELP,
    )
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    _add_store_options(ingest)
    ingest.add_argument("--chunk-size", type=int, default=1000, help="characters (default 1000)")
    ingest.add_argument("--overlap", type=int, default=200, help="characters (default 200)")
    ingest.add_argument(
        "--glob", action="append", help="files to take from folders (repeatable; default **/*)"
    )
    ingest.set_defaults(run=lambda args: asyncio.run(_ingest(args)))

    query = subparsers.add_parser(
        "query", help="search a vector index (vector + BM25)", description="Search an index."
    )
    query.add_argument("text", help="what to search for")
    _add_store_options(query)
    query.add_argument("--top-k", type=int, default=5, help="results (default 5)")
    query.add_argument("--filter", help='metadata filter as JSON, e.g. \'{"format": "markdown"}\'')
    query.add_argument("--vector-only", action="store_true", help="no BM25 fusion")
    query.add_argument("--json", action="store_true", help="print JSON")
    query.set_defaults(run=lambda args: asyncio.run(_query(args)))
