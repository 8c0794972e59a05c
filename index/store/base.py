"""The storage interface: what retrieval and the front ends need from whatever holds an index.

Two implementations: ``local/`` (generations of FAISS + tantivy + SQLite in a directory) and
``milvus/`` (a Milvus collection per generation behind an alias). A Store writes and publishes
generations; a Reader is one published generation, read-only, for as long as a question needs it
(a question never mixes two). Sentence ids are integers; article rowids are integers too (the
article vectors' ids). Every store depends on this seam only (with changes.py, manifest.py,
table.py and bm25.py beside it), never on another store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol, TypedDict

import numpy as np

from citebot.index.embed.embedders import Embedder
from citebot.index.records import Article, Hit, Sentence
from citebot.index.store.changes import ChangeReport
from citebot.index.store.manifest import Manifest

Progress = Callable[[int, int], None]
Notify = Callable[[str], None]


@dataclass(frozen=True)
class Filter:
    """Which articles a search may return: published between ``since`` and ``until`` (inclusive; an
    article without a date is left out once either is set) and, when ``sources`` is not empty, from one
    of those outlets (as the index holds them). Each store applies it inside its own search."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.since is not None or self.until is not None or bool(self.sources)


class Status(TypedDict):
    """What the live generation holds, from its manifest alone."""

    generation: int
    articles: int
    sentences: int
    model: str
    dimension: int
    built_at: str
    newest_article: str | None


class Reader(Protocol):
    """One published generation, read-only."""

    @property
    def generation(self) -> object: ...  # compared by the answering service to notice a newer generation

    @property
    def manifest(self) -> Manifest: ...

    def check_dimension(self, dimension: int) -> None: ...
    def sentence_count(self) -> int: ...
    # the searches take a Filter (None: every article) and apply it inside the search, never to its results
    def dense_sentences(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def dense_articles(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray: ...
    def article_vectors_of(self, rowids: np.ndarray) -> np.ndarray: ...
    # keyword methods take a question's content words (ingest/words.content_words); each store makes them terms
    def keyword_sentences(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]: ...
    def keyword_articles(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]: ...
    def coverage(self, words: list[str], article: int | None) -> tuple[float, float]: ...
    def hits(self, scored: list[tuple[int, float]]) -> list[Hit]: ...  # in the given order, missing ids dropped
    def search(self, vector: np.ndarray, k: int) -> list[Hit]: ...  # dense search alone, as hits
    def texts(self, ids: Iterable[int]) -> dict[int, str]: ...
    def article_body(self, article_id: str) -> str | None: ...
    # per-sentence lookups (store/table.py's SentenceLookups gives every reader the same ones)
    def sentence_ids(self) -> np.ndarray: ...
    def articles_of(self, ids: np.ndarray) -> np.ndarray: ...
    def flags_of(self, ids: np.ndarray) -> np.ndarray: ...
    def sentences_of(self, article_rowids: np.ndarray) -> np.ndarray: ...
    def neighbours(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def contexts(self, sentence_ids: list[int]) -> list[tuple[str | None, str | None]]: ...
    # what the collection covers, and which articles a filter lets through (None: no filter)
    def outlets(self) -> list[str]: ...
    def date_span(self) -> tuple[date, date] | None: ...
    def allowed_articles(self, where: Filter | None) -> np.ndarray | None: ...
    def close(self) -> None: ...


class Store(Protocol):
    """Where an index lives; ``workspace`` is the local directory for exports and state in any case."""

    kind: str  # "local" or "milvus"
    workspace: Path

    def describe(self) -> dict[str, object]: ...  # store, location (a path or URI, never a token), collection
    def status(self) -> Status | None: ...  # the live generation's figures; None when there is none
    def require(self) -> Status: ...  # the same, or IndexMissing saying how to build one
    def live(self) -> object | None: ...  # cheap marker of the live generation (hot reload)
    def articles(self) -> dict[str, str | None]: ...  # article id -> path (file path or URL)
    def hashes(self) -> dict[str, str]: ...  # body hash -> path or id
    def write(self, embedder: Embedder, upserts: Iterable[Article] = (), removals: Iterable[str] = (), *,
              fresh: bool = False, progress: Progress | None = None, notify: Notify | None = None,
              split: dict[str, list[Sentence]] | None = None) -> ChangeReport: ...  # split: sentences as already cut
    def reader(self, model: str | None = None) -> Reader: ...
