"""The ASCII fast path of the hashing kernel's tokenizer (a table look-up a byte) gives the
vectors of the Python definition, for every ASCII character: letters of both cases, digits,
"_", punctuation and control characters."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mastra.rag import HashingEmbedder
from tests.rag.test_hash_embed import reference_embed

ASCII_TEXTS = st.lists(st.text(st.characters(max_codepoint=127), max_size=60), max_size=5)


@settings(max_examples=150, deadline=None)
@given(ASCII_TEXTS, st.sampled_from([8, 100, 256]))
def test_ascii_texts_equal_the_python_definition(texts, dimension):
    assert all(t.isascii() for t in texts)
    ours = HashingEmbedder(dimension).embed_sync(texts)
    np.testing.assert_array_equal(ours, reference_embed(texts, dimension))


def test_every_ascii_character_in_and_around_words():
    every = "".join(map(chr, range(128)))
    texts = [every, every.upper(), f"Ab_9{every}Zz", "_" * 7 + " A-B C@D [E]F`G{H}", ""]
    ours = HashingEmbedder(256, char_ngrams=(1, 2, 3)).embed_sync(texts)
    np.testing.assert_array_equal(ours, reference_embed(texts, 256, (1, 2, 3)))


def test_ascii_and_wider_texts_in_one_call():
    """The two tokenizers share the call's word cache: a word met in an ASCII text and again
    in a wider one has the same features."""
    texts = ["Hello world_1", "hello WORLD_1 \u00e9t\u00e9", "HELLO", "\u4e2d hello"]
    ours = HashingEmbedder(64).embed_sync(texts)
    np.testing.assert_array_equal(ours, reference_embed(texts, 64))
