"""Embedders: an OpenAI-compatible /embeddings server (batches, retries) and the local
model2vec embedder (a tiny model built here; the missing-model error)."""

import numpy as np
import pytest
from aiohttp import web

from mastra.errors import ConfigError, ValidationError
from mastra.http.policy import RetryPolicy
from mastra.llm import get_model
from mastra.rag import LocalEmbedder, ModelEmbedder
from tests.servers import json_reply


def embeddings_reply(request_json):
    rows = [[float(len(t)), 1.0, 0.0] for t in request_json["input"]]
    return {"data": [{"index": i, "embedding": r} for i, r in enumerate(rows)]}


async def serve_embeddings(request):
    body = await request.json()
    return web.json_response(embeddings_reply(body))


async def test_openai_compatible_embeddings_in_batches_with_retries(provider_server):
    url, script = await provider_server()
    script.add(json_reply({"error": {"message": "busy"}}, status=503))
    script.add(serve_embeddings)
    model = get_model(
        "local/embed-small",
        base_url=url,
        api_key="k",
        retry=RetryPolicy(max_attempts=3, initial_delay=0.01, jitter=False),
    )
    embedder = ModelEmbedder(model, 3, batch_size=2)
    rows = await embedder.embed(["a", "bb", "ccc", "dddd", "eeeee"])
    assert rows.dtype == np.float32 and rows[:, 0].tolist() == [1, 2, 3, 4, 5]
    posts = [r for r in script.requests if r["path"].endswith("/embeddings")]
    assert [r["json"]["input"] for r in posts] == [
        ["a", "bb"],
        ["a", "bb"],
        ["ccc", "dddd"],
        ["eeeee"],
    ]  # the 503 was retried
    assert posts[0]["json"]["model"] == "embed-small"


async def test_a_wrong_dimension_is_reported(provider_server):
    url, script = await provider_server()
    script.add(serve_embeddings)
    embedder = ModelEmbedder(get_model("local/e", base_url=url, api_key="k"), 8)
    with pytest.raises(ValidationError, match="returned 3 dimensions"):
        await embedder.embed(["x"])
    with pytest.raises(ValidationError, match="batch_size"):
        ModelEmbedder(get_model("local/e", base_url=url, api_key="k"), 8, batch_size=0)


def test_local_embedder_says_when_the_model_is_not_there(tmp_path):
    with pytest.raises(ConfigError, match=r"does not exist.*never downloads"):
        LocalEmbedder(tmp_path / "no-such-model")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"missing tokenizer\.json, model\.safetensors"):
        LocalEmbedder(tmp_path / "half")


def tiny_model2vec(folder):
    """A real model2vec model, made here: a word-level tokenizer and a random embedding
    table where words of one topic share a direction."""
    from model2vec import StaticModel
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    words = ["[UNK]", "[PAD]", "owl", "hawk", "eagle", "salmon", "trout", "cod"]
    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    rng = np.random.default_rng(7)
    birds, fish = rng.normal(size=16), rng.normal(size=16)
    vectors = np.stack(
        [rng.normal(size=16) * 0.01 for _ in range(2)]
        + [birds + rng.normal(size=16) * 0.1 for _ in range(3)]
        + [fish + rng.normal(size=16) * 0.1 for _ in range(3)]
    ).astype(np.float32)
    StaticModel(vectors, tokenizer, normalize=True).save_pretrained(str(folder))


async def test_local_embedder_loads_a_model_from_a_folder(tmp_path):
    tiny_model2vec(tmp_path / "m")
    embedder = LocalEmbedder(tmp_path / "m")
    assert embedder.dimension == 16
    rows = await embedder.embed(["owl hawk", "eagle", "salmon trout", "cod"])
    assert rows.shape == (4, 16) and rows.dtype == np.float32
    sims = rows @ rows.T
    assert sims[0, 1] > sims[0, 2] and sims[2, 3] > sims[2, 1]
    assert (await embedder.embed([])).shape == (0, 16)
