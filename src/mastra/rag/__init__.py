"""Retrieval-augmented generation: documents, loaders and chunkers, embedders, ingestion
into a vector store, hybrid (vector + BM25) retrieval, reranking and an agent search tool.

- :class:`Document`, :class:`Chunk`; :func:`load_file` for text, Markdown, HTML, JSON, CSV
  and PDF (``mastra[pdf]``).
- Chunkers: :class:`RecursiveChunker` (LangChain's recursive rules, compiled),
  :class:`TokenChunker`, :class:`MarkdownChunker`, :class:`SentenceChunker`,
  :class:`SemanticChunker`, :class:`JSONChunker`.
- Embedders: :class:`HashingEmbedder` (offline), :class:`ModelEmbedder` (provider APIs),
  :class:`CachedEmbedder`, :class:`LocalEmbedder` (model2vec, ``mastra[local-embeddings]``).
- :func:`ingest` -> :class:`IngestReport`; :func:`retrieve`, :func:`rerank` with an LLM or a
  :class:`RerankAPI`; :func:`vector_query_tool`.
"""

from mastra.rag.chunkers import (
    Chunker,
    JSONChunker,
    MarkdownChunker,
    RecursiveChunker,
    SemanticChunker,
    SentenceChunker,
    TokenChunker,
)
from mastra.rag.documents import Chunk, Document
from mastra.rag.embedders import CachedEmbedder, Embedder, HashingEmbedder, ModelEmbedder
from mastra.rag.ingest import IngestReport, ingest
from mastra.rag.lexical import BM25Index
from mastra.rag.loaders import Skipped, load_file
from mastra.rag.local import LocalEmbedder
from mastra.rag.retrieve import RerankAPI, rerank, retrieve, vector_query_tool

__all__ = [
    "BM25Index",
    "CachedEmbedder",
    "Chunk",
    "Chunker",
    "Document",
    "Embedder",
    "HashingEmbedder",
    "IngestReport",
    "JSONChunker",
    "LocalEmbedder",
    "MarkdownChunker",
    "ModelEmbedder",
    "RecursiveChunker",
    "RerankAPI",
    "SemanticChunker",
    "SentenceChunker",
    "Skipped",
    "TokenChunker",
    "ingest",
    "load_file",
    "rerank",
    "retrieve",
    "vector_query_tool",
]
