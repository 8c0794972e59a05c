"""Open one generation of an index read-only and search it by vector."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from citebot.index.errors import IndexCorrupt, IndexMismatch, IndexMissing
from citebot.index.ingest.words import terms_of
from citebot.index.records import Hit
from citebot.index.store.base import Filter, Status
from citebot.index.store.local.generations import connect, current_generation, opening, rows_by_ids
from citebot.index.store.local.keyword import ARTICLE_BODY, ARTICLE_TITLE, SENTENCE_TEXT, Counted, KeywordIndex, counted
from citebot.index.store.local.keyword import require as require_keyword_files
from citebot.index.store.manifest import FORMAT, Manifest
from citebot.index.store.table import ArticleTable, SentenceLookups, SentenceTable, TableIndex

COUNTED = 50_000  # documents whose term counts a reader keeps for exact BM25 lengths (articles: a few MB each 1,000)


def read_manifest(generation: Path) -> Manifest:
    path = generation / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = Manifest.from_dict(data)
    except FileNotFoundError:
        raise IndexCorrupt(f"index generation {generation} has no manifest.json; rebuild with `citebot index build`") from None
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"index manifest {path} is unreadable ({exc}); rebuild with `citebot index build`") from None
    if manifest.format != FORMAT:
        raise IndexMismatch(f"index {generation.parent} has format {manifest.format}, this citebot reads {FORMAT}; rebuild it")
    return manifest


def index_status(directory: Path) -> Status | None:
    """What the live generation holds (from its manifest alone, nothing loaded); None without an index."""
    generation = current_generation(directory)
    if generation is None:
        return None
    m = read_manifest(generation)
    return {"generation": m.generation, "articles": m.articles, "sentences": m.sentences, "model": m.model,
            "dimension": m.dimension, "built_at": m.built_at, "newest_article": m.newest_article}


def missing_message(directory: Path) -> str:
    return (
        f"no index at {directory}. Build one first:\n"
        f"  citebot index build PATH...   (e.g. citebot index build examples/articles)\n"
        f"or point CITEBOT_INDEX_DIR at an existing index."
    )


class IndexReader(SentenceLookups):
    """A loaded generation: FAISS vectors in memory, metadata in SQLite (read-only)."""

    def __init__(self, directory: Path, generation: Path, manifest: Manifest, vectors: Any, article_vectors: Any,
                 db: sqlite3.Connection, keywords: KeywordIndex, table: TableIndex) -> None:
        self.directory = directory
        self.generation = generation
        self.manifest = manifest
        self.vectors = vectors
        self.article_vectors = article_vectors
        self.db = db
        self.lock = threading.Lock()  # one SQLite connection shared by the bot's worker threads
        self.keywords = keywords
        self._table = table
        self._articles = ArticleTable.of(db.execute("SELECT rowid, published, source FROM articles ORDER BY rowid"))
        self._terms_s: dict[int, Counted] = {}  # sentences' and articles' term counts (a generation never changes)
        self._terms_a: dict[int, Counted] = {}

    @classmethod
    def open(cls, directory: Path, model: str | None = None) -> IndexReader:
        """Load the live generation; refuse a missing, corrupt or other-model index clearly."""
        generation = current_generation(directory)
        if generation is None:
            raise IndexMissing(missing_message(directory))
        if not generation.is_dir():
            raise IndexCorrupt(f"index {directory} points at missing generation {generation.name}; rebuild with `citebot index build`")
        manifest = read_manifest(generation)
        if model is not None and manifest.model != model:
            raise IndexMismatch(
                f"index {directory} was built with model {manifest.model!r} but the model asked for (--model or "
                f"CITEBOT_MODEL) is {model!r}; rebuild it with `citebot index build` or use {manifest.model}"
            )
        import faiss

        # One query at a time: OpenMP threads only spin against the query encoder's own threads
        # (measured: dense search + ONNX encoding 8.2 ms p50 with 2 OpenMP threads, 3.2 ms with 1).
        faiss.omp_set_num_threads(1)
        with opening(generation / "vectors.faiss"):
            vectors = faiss.read_index(str(generation / "vectors.faiss"))
        with opening(generation / "articles.faiss"):
            article_vectors = faiss.read_index(str(generation / "articles.faiss"))
        from citebot.index.store.local.ann import set_nprobe

        set_nprobe(vectors)
        set_nprobe(article_vectors, articles=True)
        if article_vectors.ntotal != manifest.articles or article_vectors.d != manifest.dimension:
            raise IndexCorrupt(f"index {generation} is inconsistent: {article_vectors.ntotal} article vectors for "
                               f"{manifest.articles} articles; rebuild it")
        if vectors.d != manifest.dimension or vectors.ntotal != manifest.sentences:
            raise IndexCorrupt(
                f"index {generation} is inconsistent: manifest says {manifest.sentences} sentences of "
                f"dimension {manifest.dimension}, vectors hold {vectors.ntotal} of dimension {vectors.d}; rebuild it"
            )
        with opening(generation / "meta.sqlite"):
            if not (generation / "meta.sqlite").is_file():
                raise FileNotFoundError(generation / "meta.sqlite")
            db = connect(generation / "meta.sqlite", readonly=True)  # a truncated file fails its first read (header size)
            count = db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
        if count != manifest.sentences:
            raise IndexCorrupt(f"index {generation} is inconsistent: {count} sentence rows, manifest says {manifest.sentences}; rebuild it")
        with opening(generation / "keyword"):
            require_keyword_files(generation)
            keywords = KeywordIndex(generation)
        with opening(generation / "table.npz"):
            table = SentenceTable.load(generation)
        if (keywords.sentence_count, keywords.article_count, len(table)) != (manifest.sentences, manifest.articles, manifest.sentences):
            raise IndexCorrupt(f"index {generation} is inconsistent: keyword index holds {keywords.sentence_count} sentences and "
                               f"{keywords.article_count} articles, table {len(table)}, manifest {manifest.sentences} and "
                               f"{manifest.articles} (keyword/, table.npz); rebuild it with `citebot index build PATH...`")
        return cls(directory, generation, manifest, vectors, article_vectors, db, keywords, TableIndex(table))

    def check_dimension(self, dimension: int) -> None:
        if dimension != self.manifest.dimension:
            raise IndexMismatch(
                f"index {self.directory} holds {self.manifest.dimension}-dimensional vectors but the "
                f"model gives {dimension}; rebuild it with `citebot index build`"
            )

    # the Reader interface (store/base.py) ---------------------------------------------------
    def sentence_count(self) -> int:
        return int(self.vectors.ntotal)

    def dense_sentences(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _dense(self.vectors, query, k, self.allowed_sentences(where))

    def dense_articles(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _dense(self.article_vectors, query, k, self.allowed_articles(where))

    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors.reconstruct_batch(ids))

    def article_vectors_of(self, rowids: np.ndarray) -> np.ndarray:
        return np.asarray(self.article_vectors.reconstruct_batch(rowids))

    def keyword_sentences(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]:
        return self.keywords.top_sentences(terms_of(words), k, self._sentence_terms, self.allowed_sentences(where))

    def keyword_articles(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]:
        return self.keywords.top_articles(terms_of(words), k, self._article_terms, self.allowed_articles(where))

    def _sentence_terms(self, ids: list[int]) -> dict[int, Counted]:
        return self._counted(self._terms_s, ids, lambda wanted: (
            (i, counted({SENTENCE_TEXT: t})) for i, t in self.texts(wanted).items()))

    def _article_terms(self, rowids: list[int]) -> dict[int, Counted]:
        def read(wanted: list[int]) -> list[tuple[int, Counted]]:
            with self.lock:
                rows = self.db.execute(f"SELECT rowid, title, body FROM articles WHERE rowid IN ({','.join('?' * len(wanted))})",
                                       wanted).fetchall()
            return [(int(r[0]), counted({ARTICLE_TITLE: r[1] or "", ARTICLE_BODY: r[2]})) for r in rows]

        return self._counted(self._terms_a, rowids, read)

    @staticmethod
    def _counted(cache: dict[int, Counted], keys: list[int], read: Callable[[list[int]], Iterable[tuple[int, Counted]]],
                 ) -> dict[int, Counted]:
        """Documents' terms counted for the keyword ranking's exact lengths, each read and analysed once (up to
        COUNTED documents are kept, then the cache starts again)."""
        found = {k: c for k in keys if (c := cache.get(k)) is not None}  # one lookup: another question's thread may clear it
        wanted = [k for k in keys if k not in found]
        if wanted:
            fresh = dict(read(wanted))
            if len(cache) > COUNTED:
                cache.clear()
            cache.update(fresh)
            found.update(fresh)
        return found

    def coverage(self, words: list[str], article: int | None) -> tuple[float, float]:
        return self.keywords.coverage(terms_of(words), article)

    def hits(self, scored: list[tuple[int, float]]) -> list[Hit]:
        with self.lock:
            found = rows_by_ids(self.db, [i for i, _ in scored])
        return [self.hit(found[i], score) for i, score in scored if i in found]

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        """The k sentences nearest to a normalised query vector, best first."""
        k = min(k, int(self.vectors.ntotal))
        if k <= 0:
            return []
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, ids = self.vectors.search(query, k)
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        with self.lock:
            rows = rows_by_ids(self.db, [i for i, _ in pairs])
        return [self.hit(rows[i], score) for i, score in pairs if i in rows]

    def rows(self, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """Sentence rows with article metadata (call with ``lock`` held)."""
        return rows_by_ids(self.db, ids)

    def texts(self, ids: Iterable[int]) -> dict[int, str]:
        """sentence id -> text, in one query."""
        wanted = list(ids)
        if not wanted:
            return {}
        with self.lock:
            return {int(i): t for i, t in self.db.execute(
                f"SELECT id, text FROM sentences WHERE id IN ({','.join('?' * len(wanted))})", wanted)}

    @staticmethod
    def hit(row: sqlite3.Row, score: float) -> Hit:
        return Hit(
            sentence_id=int(row["id"]),
            score=score,
            text=row["text"],
            article_id=row["article_id"],
            sentence_index=int(row["idx"]),
            char_start=int(row["char_start"]),
            char_end=int(row["char_end"]),
            title=row["title"],
            source=row["source"],
            url=row["url"],
            published=row["published"],
            path=row["path"],
        )

    def article_body(self, article_id: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT body FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else str(row["body"])

    def close(self) -> None:
        self.db.close()


EXACT_FILTERED = 2_000  # a filter letting fewer sentences through is searched exactly over their vectors
FILTER_EXPONENT = 0.6  # a filter letting a share s through probes 1/s**0.6 times the lists (bench.probes)


def _dense(index: Any, query: np.ndarray, k: int, only: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest ids (and scores) in a FAISS index, among ``only`` when given, restricted inside the search:
    a few thousand allowed ids are scored exactly from their stored vectors; more go to FAISS's id selector, a
    bitmap over the ids (exact for the flat index; for IVF it scans the probed lists for allowed ids only).
    A filter letting a share s of the collection through probes 1/s**FILTER_EXPONENT times more lists: its
    10 nearest allowed vectors rank about 10/s among all, and the lists holding the nearest r vectors grow
    more slowly than r (bench.probes measures recall against exact filtered search)."""
    import faiss

    k = min(k, int(index.ntotal) if only is None else int(only.size))
    if k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if only is None:
        scores, ids = index.search(query, k)
    elif only.size <= EXACT_FILTERED:
        allowed = only.astype(np.int64)
        all_scores = np.asarray(index.reconstruct_batch(allowed)) @ query[0]
        top = np.argsort(-all_scores, kind="stable")[:k]
        return allowed[top], all_scores[top].astype(np.float32)
    else:
        mask = np.zeros(int(only.max()) + 1, dtype=bool)
        mask[only] = True
        bits = np.packbits(mask, bitorder="little")  # referenced until the search returns: the selector only points at it
        selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is None:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]  # faiss's stubs omit the keyword its SWIG class takes
        else:
            share = only.size / max(1, int(index.ntotal))
            nprobe = min(ivf.nlist, int(np.ceil(ivf.nprobe / share ** FILTER_EXPONENT)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]  # as above
        scores, ids = index.search(query, k, params=params)
        del bits
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]
