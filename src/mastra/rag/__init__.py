"""Retrieval: embedders (chunking and documents come later)."""

from mastra.rag.embedders import CachedEmbedder, Embedder, HashingEmbedder, ModelEmbedder

__all__ = ["CachedEmbedder", "Embedder", "HashingEmbedder", "ModelEmbedder"]
