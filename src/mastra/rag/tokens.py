"""Tokenizers for token-sized chunks: tiktoken where it is installed, else a word tokenizer
(runs of letters and digits, and each other non-space character)."""

from __future__ import annotations

import re
from typing import Any, Protocol

from mastra.errors import ConfigError, ValidationError

__all__ = ["Tokenizer", "WordTokenizer", "get_tokenizer"]

Span = tuple[int, int]
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class Tokenizer(Protocol):
    name: str

    def count(self, text: str) -> int: ...

    def spans(self, text: str) -> list[Span]:
        """Each token's character span, in order."""
        ...


class WordTokenizer:
    """Words and punctuation marks as tokens: no download, roughly 1.3 per English word less
    than BPE tokenizers count."""

    name = "words"

    def count(self, text: str) -> int:
        return sum(1 for _ in _WORDS.finditer(text))

    def spans(self, text: str) -> list[Span]:
        return [m.span() for m in _WORDS.finditer(text)]


class TiktokenTokenizer:
    """A ``tiktoken.Encoding``; spans come from its decode offsets."""

    def __init__(self, encoding: Any) -> None:
        self.encoding = encoding
        self.name = str(encoding.name)

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))

    def spans(self, text: str) -> list[Span]:
        tokens = self.encoding.encode(text, disallowed_special=())
        decoded, starts = self.encoding.decode_with_offsets(tokens)
        if decoded != text:  # lone surrogates and the like do not round-trip
            raise ValidationError(f"tokenizer {self.name!r} cannot round-trip this text")
        ends = [*starts[1:], len(text)]
        return list(zip(starts, ends, strict=True))


def get_tokenizer(encoding: Any = "cl100k_base") -> Tokenizer:
    """``"words"``: :class:`WordTokenizer`; a tiktoken encoding name or ``tiktoken.Encoding``:
    that encoding. A name falls back to words when tiktoken is not installed; when tiktoken is
    installed but cannot load the encoding (offline, no cache), ConfigError says so."""
    if encoding == "words":
        return WordTokenizer()
    if not isinstance(encoding, str):
        if not callable(getattr(encoding, "decode_with_offsets", None)):
            raise ValidationError(
                f"encoding must be 'words', a tiktoken encoding name or a tiktoken.Encoding, "
                f"got {type(encoding).__name__}"
            )
        return TiktokenTokenizer(encoding)
    try:
        import tiktoken
    except ImportError:
        return WordTokenizer()
    try:
        return TiktokenTokenizer(tiktoken.get_encoding(encoding))
    except ValueError as exc:
        raise ValidationError(f"unknown tiktoken encoding {encoding!r}: {exc}") from None
    except Exception as exc:  # the download of the BPE ranks failed (offline)
        raise ConfigError(
            f"tiktoken could not load {encoding!r} ({type(exc).__name__}); it downloads the "
            "ranks on first use: set TIKTOKEN_CACHE_DIR to a folder holding them, pass a "
            "tiktoken.Encoding, or use encoding='words'"
        ) from None
