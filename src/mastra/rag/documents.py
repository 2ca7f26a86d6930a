"""``Document`` (a text with metadata and an id) and ``Chunk`` (a piece of one, with where it
came from)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from mastra.errors import ValidationError

__all__ = ["Chunk", "Document", "content_hash"]


def content_hash(text: str) -> str:
    """A short, stable digest of a text (hex blake2b-128)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Document(msgspec.Struct, kw_only=False):
    """A text to ingest. ``metadata`` travels onto every chunk; ``id`` names the document in
    the store (loaders use the file's absolute path; without one, a digest of the text)."""

    text: str
    metadata: dict[str, Any] | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValidationError(f"Document.text must be a str, got {type(self.text).__name__}")
        if self.metadata is None:
            self.metadata = {}
        elif not isinstance(self.metadata, dict):
            raise ValidationError(
                f"Document.metadata must be a dict or None, got {type(self.metadata).__name__}"
            )
        if self.id is None:
            self.id = "doc-" + content_hash(self.text)
        elif not isinstance(self.id, str) or not self.id:
            raise ValidationError(f"Document.id must be a non-empty str, got {self.id!r}")

    @property
    def source(self) -> str:
        """Where the document came from: ``metadata["source"]``, else its id."""
        meta = self.metadata or {}
        source = meta.get("source")
        return source if isinstance(source, str) else str(self.id)


class Chunk(msgspec.Struct):
    """A piece of a document: ``text`` is ``document.text[start:end]`` (JSONChunker excepted:
    its text is the compact JSON of the members found there). ``metadata`` holds the
    document's metadata plus ``source``, ``document_id``, ``position`` (0-based chunk number),
    ``start`` and ``end``, and what the chunker adds (``headers`` ...)."""

    text: str
    metadata: dict[str, Any]
    start: int
    end: int
