"""The storage interface: what retrieval and the front ends need from whatever holds an index.

Two implementations: ``local`` (generations of FAISS + tantivy + SQLite in a directory,
store/local.py) and ``milvus`` (a Milvus collection per generation behind an alias,
store/milvus.py). A Store writes and publishes generations; a Reader is one published
generation, read-only, for as long as a question needs it (a question never mixes two).
Sentence ids are integers; article rowids are integers too (the article vectors' ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from citebot.index.embed.embedders import Embedder
from citebot.index.records import Article, Hit
from citebot.index.store.table import TableIndex

Progress = Callable[[int, int], None]
Notify = Callable[[str], None]


class Reader(Protocol):
    """One published generation, read-only."""

    generation: object  # compared by the answering service to notice a newer generation
    table: TableIndex  # each sentence's article, position and answer-type flags, in memory

    @property
    def manifest(self) -> Any: ...  # model, dimension, articles, sentences, generation, built_at

    def check_dimension(self, dimension: int) -> None: ...
    def sentence_count(self) -> int: ...
    def dense_sentences(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...  # (ids, scores)
    def dense_articles(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...  # (rowids, scores)
    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray: ...
    def article_vectors_of(self, rowids: np.ndarray) -> np.ndarray: ...
    # keyword methods take a question's content words (ingest/words.content_words); each store makes them terms
    def keyword_sentences(self, words: list[str], k: int) -> dict[int, float]: ...
    def keyword_articles(self, words: list[str], k: int) -> dict[int, float]: ...
    def coverage(self, words: list[str], article: int | None) -> tuple[float, float]: ...
    def hits(self, scored: list[tuple[int, float]]) -> list[Hit]: ...  # in the given order, missing ids dropped
    def texts(self, ids: Iterable[int]) -> dict[int, str]: ...
    def contexts(self, sentence_ids: list[int]) -> list[tuple[str | None, str | None]]: ...
    def article_body(self, article_id: str) -> str | None: ...
    def close(self) -> None: ...


class Store(Protocol):
    """Where an index lives; ``workspace`` is the local directory for exports and state in any case."""

    kind: str  # "local" or "milvus"
    workspace: Path

    def describe(self) -> dict[str, object]: ...  # store, location (a path or URI, never a token), collection
    def status(self) -> dict[str, object] | None: ...  # the live generation's figures; None when there is none
    def require(self) -> dict[str, object]: ...  # the same, or IndexMissing saying how to build one
    def live(self) -> object | None: ...  # cheap marker of the live generation (hot reload)
    def articles(self) -> dict[str, str | None]: ...  # article id -> path (file path or URL)
    def hashes(self) -> dict[str, str]: ...  # body hash -> path or id
    def write(self, embedder: Embedder, upserts: Iterable[Article] = (), removals: Iterable[str] = (), *,
              fresh: bool = False, progress: Progress | None = None, notify: Notify | None = None) -> Any: ...
    def reader(self, model: str | None = None) -> Reader: ...
