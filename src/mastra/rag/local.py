"""``LocalEmbedder``: a static neural embedding model (model2vec) loaded from a folder on
disk — no network, no GPU, no PyTorch. Needs ``mastra[local-embeddings]``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mastra.errors import ConfigError

__all__ = ["LocalEmbedder"]

_NEEDED = ("config.json", "tokenizer.json")
_OFFLOAD = 64  # more texts than this are embedded in a worker thread


class LocalEmbedder:
    """A model2vec model from ``path`` (a folder holding ``config.json``, ``tokenizer.json``
    and ``model.safetensors``, e.g. one saved by ``StaticModel.save_pretrained`` or copied
    from a hub snapshot). It never downloads: a missing folder or file is a ConfigError that
    says what is missing and where."""

    def __init__(self, path: str | os.PathLike[str], *, normalize: bool = True) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError(
                f"no local embedding model at {str(folder)!r}: the folder does not exist. "
                "Copy a model2vec model there (config.json, tokenizer.json, "
                "model.safetensors); LocalEmbedder never downloads"
            )
        missing = [n for n in (*_NEEDED, "model.safetensors") if not (folder / n).is_file()]
        if missing:
            raise ConfigError(
                f"no local embedding model at {str(folder)!r}: missing {', '.join(missing)} "
                "(a model2vec model folder holds config.json, tokenizer.json and "
                "model.safetensors)"
            )
        try:
            from model2vec import StaticModel
        except ImportError:
            raise ConfigError(
                "LocalEmbedder needs model2vec: pip install 'mastra[local-embeddings]'"
            ) from None
        self.path = str(folder.absolute())
        self.model: Any = StaticModel.from_pretrained(
            self.path, normalize=normalize, force_download=False
        )
        self.dimension = int(self.model.dim)

    @property
    def fingerprint(self) -> str:
        return f"LocalEmbedder({self.path}, dimension={self.dimension})"

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = self.model.encode(list(texts), show_progress_bar=False)
        return np.ascontiguousarray(rows, dtype=np.float32).reshape(len(texts), self.dimension)

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if len(texts) > _OFFLOAD:
            return await asyncio.to_thread(self.embed_sync, texts)
        return self.embed_sync(texts)
