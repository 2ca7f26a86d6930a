"""HashingEmbedder's compiled kernel (native/_hash_embed.pyx) against the Python definition it
replaced, kept here as the oracle: equal vectors, bit for bit."""

import asyncio
import itertools
import re
import threading
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra._native import _hash_embed
from mastra.errors import ValidationError
from mastra.rag import HashingEmbedder

_WORD = re.compile(r"\w+", re.UNICODE)


def reference_features(text, char_ngrams):
    words = _WORD.findall(text.lower())
    features = [f"w:{w}" for w in words]
    features += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        marked = f"<{word}>"
        for n in char_ngrams:
            features += [marked[i : i + n] for i in range(max(len(marked) - n + 1, 0))]
    return features


def reference_counts(texts, dimension, char_ngrams):
    rows = np.zeros((len(texts), dimension), dtype=np.float32)
    for row, text in zip(rows, texts, strict=True):
        for feature in reference_features(text, char_ngrams):
            digest = zlib.crc32(feature.encode())
            row[digest % dimension] += 1.0 if digest & 0x80000000 else -1.0
    return rows


def reference_embed(texts, dimension, char_ngrams=(3, 4)):
    """The Python HashingEmbedder.embed_sync this kernel replaced."""
    rows = reference_counts(texts, dimension, char_ngrams)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    np.divide(rows, norms, out=rows, where=norms > 0)
    return rows


# Letters that change under str.lower (some into two characters: "İ"), digits of other
# scripts, "_", combining marks, characters of all three str widths, punctuation, spaces.
ALPHABET = st.sampled_from(
    [
        *"aZ_9 .,-\n\t",
        "É",
        "ß",
        "İ",
        "Σ",
        "ς",
        "ж",
        "Ж",
        "٣",
        "ǅ",
        "\u0301",
        "中",
        "😀",
        "\U0001d538",
        "ﬁ",
    ]
)
TEXTS = st.lists(st.text(ALPHABET, max_size=40), max_size=6)
NGRAMS = st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple)


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.sampled_from([8, 13, 64, 256, 1000]), NGRAMS)
def test_vectors_equal_the_python_definition(texts, dimension, ngrams):
    ours = HashingEmbedder(dimension, char_ngrams=ngrams).embed_sync(texts)
    np.testing.assert_array_equal(ours, reference_embed(texts, dimension, ngrams))


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=200), st.sampled_from([8, 256]))
def test_any_text_equals_the_python_definition(text, dimension):
    ours = HashingEmbedder(dimension).embed_sync([text])
    np.testing.assert_array_equal(ours, reference_embed([text], dimension))


def test_real_text_equals_the_python_definition():
    import pydoc_data.topics

    texts = list(pydoc_data.topics.topics.values())[:40]
    np.testing.assert_array_equal(
        HashingEmbedder(256).embed_sync(texts), reference_embed(texts, 256)
    )


def test_a_long_word_and_a_large_text():
    texts = ["x" * 5000, "Word " * 20_000 + "ÉTÉ " * 500]
    np.testing.assert_array_equal(HashingEmbedder(64).embed_sync(texts), reference_embed(texts, 64))


@settings(max_examples=50, deadline=None)
@given(TEXTS, NGRAMS)
def test_the_kernel_adds_signed_counts_to_the_rows_it_is_given(texts, ngrams):
    rows = np.ones((len(texts), 24), dtype=np.float32)
    _hash_embed.hash_features(texts, rows, ngrams)
    np.testing.assert_array_equal(rows, reference_counts(texts, 24, ngrams) + 1)


def test_bad_input_is_refused():
    embedder = HashingEmbedder(16)
    with pytest.raises(ValidationError, match=r"texts\[1\] is int"):
        embedder.embed_sync(["ok", 3])
    with pytest.raises(ValidationError, match="one str"):
        embedder.embed_sync("a whole text")
    for bad in [(0,), (3, -1), (True,), ("3",)]:
        with pytest.raises(ValidationError, match="char_ngrams"):
            HashingEmbedder(16, char_ngrams=bad)
    with pytest.raises(ValueError, match=r"rows must be \(2, dimension\)"):
        _hash_embed.hash_features(["a", "b"], np.zeros((3, 8), dtype=np.float32), (3,))
    assert embedder.embed_sync([]).shape == (0, 16)


async def test_large_batches_are_hashed_off_the_event_loop():
    embedder = HashingEmbedder(64)
    texts = ["some words to hash " * 40] * 400  # 300,000 characters
    seen = []
    original = embedder.embed_sync

    def spy(batch):
        seen.append(threading.current_thread() is threading.main_thread())
        return original(batch)

    embedder.embed_sync = spy
    rows = await embedder.embed(texts)
    small = await embedder.embed(texts[:1])
    assert seen == [False, True]
    np.testing.assert_array_equal(rows[0], small[0])


def test_threads_hash_at_once_with_equal_results():
    texts = [f"thread {i} text with some words " * 50 for i in range(200)]
    expected = HashingEmbedder(128).embed_sync(texts)
    results = [None] * 4

    def work(k):
        results[k] = HashingEmbedder(128).embed_sync(texts)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results:
        np.testing.assert_array_equal(got, expected)


def test_the_async_face_matches_the_sync_one():
    embedder = HashingEmbedder(32)
    texts = ["one", "two words", "Ünïcode"]
    np.testing.assert_array_equal(asyncio.run(embedder.embed(texts)), embedder.embed_sync(texts))
