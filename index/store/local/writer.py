"""Write a new index generation: build from scratch, or add/replace/remove articles.

Embedding is idempotent by content: an article whose body hash is unchanged is not touched,
and a sentence whose exact text already has a vector (in the previous generation or earlier
in the same batch) reuses it instead of being encoded again.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import IndexCorrupt, IndexMismatch
from citebot.index.ingest.answer_types import flags
from citebot.index.ingest.sentences import split_article
from citebot.index.records import Article, Sentence
from citebot.index.store.base import Progress
from citebot.index.store.changes import ChangeReport, plan_changes, writer_lock
from citebot.index.store.local import ann, keyword
from citebot.index.store.local.generations import (
    SCHEMA,
    chunked,
    connect,
    current_generation,
    next_generation_number,
    opening,
    prune,
    publish,
    staged_directory,
)
from citebot.index.store.manifest import Manifest, now_iso
from citebot.index.store.table import SentenceTable


def _new_database(path: Path) -> sqlite3.Connection:
    db = connect(path)
    db.executescript(SCHEMA)
    return db


def _new_vectors(dimension: int) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


class GenerationWriter:
    """Stage the next generation from the current one (or from nothing), then publish it."""

    def __init__(self, directory: Path, embedder: Embedder, fresh: bool, progress: Progress | None = None,
                 ann_threshold: int = ann.ANN_THRESHOLD):
        self.directory = directory
        self.ann_threshold = ann_threshold
        self.embedder = embedder
        self.fresh = fresh
        self.progress = progress
        self.report = ChangeReport()
        self.metadata_changed = False
        self.keywords: keyword.KeywordWriter  # set by _open_base, with the table
        self.table = SentenceTable.empty()
        self._to_embed = self._embedded = 0  # new texts of this write, and how many are embedded so far

    def _open_base(self, staged: Path) -> tuple[sqlite3.Connection, Any, Any]:
        """(metadata db, sentence vectors, article vectors) to change; also sets the keyword writer and table."""
        import faiss

        base = None if self.fresh else current_generation(self.directory)
        if base is None:
            dim = self.embedder.dimension
            self.keywords = keyword.KeywordWriter(staged, None)
            self.table = SentenceTable.empty()
            return _new_database(staged / "meta.sqlite"), _new_vectors(dim), _new_vectors(dim)
        from citebot.index.store.local.reader import read_manifest

        manifest = read_manifest(base)
        if manifest.model != self.embedder.name or manifest.dimension != self.embedder.dimension:
            raise IndexMismatch(
                f"index {self.directory} was built with model {manifest.model!r} "
                f"(dimension {manifest.dimension}), not {self.embedder.name!r}; rebuild it with "
                f"`citebot index build` or set CITEBOT_MODEL={manifest.model}"
            )
        with opening(base / "meta.sqlite"):
            shutil.copyfile(base / "meta.sqlite", staged / "meta.sqlite")
            db = connect(staged / "meta.sqlite")
            db.execute("SELECT COUNT(*) FROM sentences").fetchone()
            db.execute("SELECT COUNT(*) FROM articles").fetchone()
        try:
            with opening(base / "vectors.faiss"):
                vectors = faiss.read_index(str(base / "vectors.faiss"))
            with opening(base / "articles.faiss"):
                articles = faiss.read_index(str(base / "articles.faiss"))
            with opening(base / "table.npz"):
                self.table = SentenceTable.load(base)
            with opening(base / "keyword"):
                keyword.require(base)
                self.keywords = keyword.KeywordWriter(staged, base)  # last: its threads are stopped by run()'s finally
        except IndexCorrupt:
            db.close()
            raise
        return db, vectors, articles

    def run(self, upserts: Iterable[Article], removals: Iterable[str] = (), given: dict[str, list[Sentence]] | None = None) -> ChangeReport:
        started = time.perf_counter()
        try:
            self._stage_and_publish(list(upserts), set(removals), given)
        finally:
            prune(self.directory)  # also after an unchanged or failed run: leftovers of killed writers go
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _stage_and_publish(self, upserts: list[Article], removals: set[str], given: dict[str, list[Sentence]] | None) -> None:
        """Build the next generation aside and publish it (nothing is published when nothing changed)."""
        number = next_generation_number(self.directory)
        with staged_directory(self.directory, number) as staged:
            db, vectors, articles = self._open_base(staged)
            try:
                doomed, todo = self._plan(db, upserts, removals)
                if not doomed and not todo and not self.metadata_changed and not self.fresh:
                    self._unchanged(db)  # the live generation stays
                    return
                split = {a.id: given[a.id] if given is not None else split_article(a) for a in todo}
                reusable = self._reusable_vectors(db, vectors, split)
                self._remove(db, vectors, articles, doomed)
                vectors = self._insert(db, vectors, articles, todo, split, reusable)
                manifest = self._manifest(db, number)
                self.keywords.commit()
                if self.keywords.counts() != (manifest.sentences, manifest.articles) or len(self.table) != manifest.sentences:
                    raise IndexCorrupt(
                        f"staged generation is inconsistent: keyword index holds {self.keywords.counts()} (sentences, "
                        f"articles), table {len(self.table)}, metadata {(manifest.sentences, manifest.articles)}")
                self.table.save(staged)
                db.commit()
            finally:
                db.close()
                self.keywords.close()  # no tantivy thread may still write into the staged directory
            import faiss

            vectors = ann.maybe_convert(vectors, self.ann_threshold)
            articles = ann.maybe_convert(articles, self.ann_threshold, articles=True)
            manifest.faiss = ann.describe(vectors)
            faiss.write_index(vectors, str(staged / "vectors.faiss"))
            faiss.write_index(articles, str(staged / "articles.faiss"))
            (staged / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
            publish(self.directory, staged, number)
        self.report.generation = number
        self.report.published = True

    def _unchanged(self, db: sqlite3.Connection) -> None:
        live = current_generation(self.directory)
        self.report.generation = int(live.name.split("-")[1]) if live else 0
        self.report.articles_total = int(db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        self.report.sentences_total = int(db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0])

    def _plan(self, db: sqlite3.Connection, upserts: list[Article], removals: set[str]) -> tuple[set[str], list[Article]]:
        """Which stored articles go, and which new ones need sentences."""
        def stored_hash(article_id: str) -> str | None:
            row = db.execute("SELECT hash FROM articles WHERE id = ?", (article_id,)).fetchone()
            return None if row is None else str(row["hash"])

        doomed, todo, unchanged = plan_changes(upserts, removals, stored_hash, lambda a: self._same_file(db, a), self.report)
        for article in unchanged:
            self.metadata_changed |= self._refresh_metadata(db, article)
        return doomed, todo

    @staticmethod
    def _same_file(db: sqlite3.Connection, article: Article) -> str | None:
        """A content-derived article from the same single-article file is an older version."""
        if not article.path or not article.id_is_derived:
            return None
        rows = db.execute(
            "SELECT id FROM articles WHERE path = ? AND derived_id = 1", (article.path,)
        ).fetchall()
        return rows[0]["id"] if len(rows) == 1 else None

    def _refresh_metadata(self, db: sqlite3.Connection, article: Article) -> bool:
        """Same text, maybe new title/outlet/link/date/path: update them; True when something changed."""
        new = (article.title, article.source, article.url, article.published, article.path)
        old = db.execute("SELECT title, source, url, published, path, rowid FROM articles WHERE id = ?", (article.id,)).fetchone()
        if tuple(old)[:5] == new:
            return False
        db.execute("UPDATE articles SET title=?, source=?, url=?, published=?, path=? WHERE id=?", (*new, article.id))
        if old["title"] != article.title:  # the title is searched: re-index the article's keyword document
            self.keywords.remove([int(old["rowid"])], [])
            self.keywords.add_article(int(old["rowid"]), article.title, article.body)
        return True

    @staticmethod
    def _reusable_vectors(db: sqlite3.Connection, vectors: Any, split: dict[str, list[Sentence]]) -> dict[str, np.ndarray]:
        """Vectors already stored for identical sentence text (looked up before any removal)."""
        texts = sorted({s.text for group in split.values() for s in group})
        found: dict[str, np.ndarray] = {}
        for part in chunked(texts):
            marks = ",".join("?" * len(part))
            for row in db.execute(f"SELECT id, text FROM sentences WHERE text IN ({marks})", part):
                if row["text"] not in found:
                    found[row["text"]] = vectors.reconstruct(int(row["id"]))
        return found

    def _remove(self, db: sqlite3.Connection, vectors: Any, articles: Any, doomed: set[str]) -> None:
        """Take articles out of every part of the index: metadata, keyword tables, both vector sets."""
        if not doomed:
            return
        ids: list[int] = []
        rowids: list[int] = []
        for article_id in doomed:
            rowid = db.execute("SELECT rowid FROM articles WHERE id = ?", (article_id,)).fetchone()[0]
            mine = [r[0] for r in db.execute("SELECT id FROM sentences WHERE article_id = ?", (article_id,))]
            db.execute("DELETE FROM sentences WHERE article_id = ?", (article_id,))
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
            ids += mine
            rowids.append(rowid)
        self.keywords.remove(rowids, ids)
        self.table = self.table.without(ids)
        if ids:
            vectors.remove_ids(np.asarray(ids, dtype=np.int64))
        articles.remove_ids(np.asarray(rowids, dtype=np.int64))

    def _insert(
        self, db: sqlite3.Connection, vectors: Any, articles: Any, todo: list[Article],
        split: dict[str, list[Sentence]], reusable: dict[str, np.ndarray],
    ) -> Any:
        """Insert ``todo``; returns the sentence vectors' index (a fresh build past the approximate-search
        threshold goes straight into a new IVF index, trained on a sample of its vectors)."""
        sentences: list[Sentence] = []
        article_rows: list[int] = []
        ids: list[int] = []
        owners: list[int] = []
        added_at = now_iso()
        for article in todo:
            cur = db.execute(
                "INSERT INTO articles (id, title, source, url, published, path, hash, derived_id, body, added_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (article.id, article.title, article.source, article.url, article.published, article.path,
                 article.hash, int(article.id_is_derived), article.body, added_at),
            )
            article_rows.append(int(cur.lastrowid or 0))
            self.keywords.add_article(article_rows[-1], article.title, article.body)
            mine = []
            for s in split[article.id]:
                cur = db.execute(
                    "INSERT INTO sentences (article_id, idx, paragraph, char_start, char_end, text) VALUES (?,?,?,?,?,?)",
                    (s.article_id, s.index, s.paragraph, s.char_start, s.char_end, s.text),
                )
                mine.append(int(cur.lastrowid or 0))
            self.keywords.add_sentences(zip(mine, (s.text for s in split[article.id]), strict=True))
            sentences += split[article.id]
            ids += mine
            owners += [article_rows[-1]] * len(mine)
        self.table = self.table.plus(ids, owners, [s.index for s in sentences], [flags(s.text) for s in sentences])
        return self._embed_and_add(vectors, articles, todo, split, article_rows, ids, reusable)

    def _embed_and_add(self, vectors: Any, articles: Any, todo: list[Article], split: dict[str, list[Sentence]],
                       article_rows: list[int], ids: list[int], reusable: dict[str, np.ndarray]) -> Any:
        """Embed the new sentences a chunk of articles at a time (about ann.CHUNK sentences) and add each
        chunk's vectors, and its articles' mean vectors, before embedding the next: besides the index,
        only one chunk's float32 vectors exist. A text is embedded once: one that occurs more than once
        keeps its vector for the rest of the write. A fresh build past the approximate-search threshold
        first embeds a fixed sample of its sentences and trains an IVF index on them (no flat copy of
        every vector); each chunk then takes its share of the sample's vectors, which go with it.
        Returns the sentence vectors' index."""
        texts = [s.text for a in todo for s in split[a.id]]
        seen: set[str] = set()
        recurring: set[str] = set()
        for text in texts:
            if text not in reusable:
                (recurring if text in seen else seen).add(text)
        self._to_embed, self._embedded = len(seen), 0
        del seen
        if not texts:
            return vectors
        bounds = self._chunks(todo, split)
        known: dict[str, np.ndarray] = {}  # vectors of recurring texts
        sample_parts: list[dict[str, np.ndarray]] = [{} for _ in bounds]
        if self.fresh and len(texts) >= self.ann_threshold:
            rows = ann.training_rows(len(texts))
            sample_texts = [texts[int(i)] for i in rows]
            encoded = self._vectors_for(sample_texts, reusable, known, recurring, keep=known)
            vectors = ann.trained_ivf(encoded, len(texts))
            chunk_of = np.searchsorted(np.asarray([first for first, _, _, _ in bounds]), rows, side="right") - 1
            for n, text in enumerate(sample_texts):
                sample_parts[int(chunk_of[n])].setdefault(text, encoded[n].copy())
            del encoded, sample_texts
        for number, (first, last, article_start, article_stop) in enumerate(bounds):
            part = self._vectors_for(texts[first:last], reusable, ChainMap(sample_parts[number], known), recurring, known)
            sample_parts[number] = {}
            if last > first:
                vectors.add_with_ids(part, np.asarray(ids[first:last], dtype=np.int64))
            self._add_article_vectors(articles, todo[article_start:article_stop], split,
                                      article_rows[article_start:article_stop], part)
        self.report.sentences_embedded += self._embedded
        self.report.sentences_reused += len(texts) - self._embedded
        return vectors

    @staticmethod
    def _chunks(todo: list[Article], split: dict[str, list[Sentence]]) -> list[tuple[int, int, int, int]]:
        """(first sentence, end sentence, first article, end article) of consecutive runs of whole
        articles holding about ann.CHUNK sentences each."""
        bounds: list[tuple[int, int, int, int]] = []
        first = article_start = position = 0
        for n, article in enumerate(todo):
            position += len(split[article.id])
            if position - first >= ann.CHUNK or n == len(todo) - 1:
                bounds.append((first, position, article_start, n + 1))
                first, article_start = position, n + 1
        return bounds

    def _vectors_for(self, texts: list[str], reusable: dict[str, np.ndarray], known: Mapping[str, np.ndarray],
                     recurring: set[str], keep: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Vectors of ``texts`` in order: from ``reusable`` (the previous generation), ``known`` (embedded
        earlier in this write), or embedded now; a recurring text embedded now is kept in ``keep``."""
        new = sorted({t for t in texts if t not in reusable and t not in known}, key=len)
        encoded = self._encode(new)
        row_of = {text: n for n, text in enumerate(new)}
        out = np.empty((len(texts), self.embedder.dimension), np.float32)
        for n, text in enumerate(texts):
            row = row_of.get(text)
            out[n] = encoded[row] if row is not None else known[text] if text in known else reusable[text]
        if keep is not None:
            for text in recurring.intersection(new):
                keep[text] = encoded[row_of[text]].copy()
        return out

    def _add_article_vectors(self, articles: Any, todo: list[Article], split: dict[str, list[Sentence]],
                             rows: list[int], vectors: np.ndarray) -> None:
        """An article's vector is the normalised mean of its sentence vectors (``vectors``: those of
        ``todo``'s sentences in order): context for free."""
        if not todo:
            return
        dim = self.embedder.dimension
        means, start = [], 0
        for article in todo:
            count = len(split[article.id])
            means.append(vectors[start: start + count].mean(axis=0) if count else np.zeros(dim, np.float32))
            start += count
        mean = np.vstack(means).astype(np.float32)
        mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        articles.add_with_ids(mean, np.asarray(rows, dtype=np.int64))

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.embedder.dimension), np.float32)
        before, done = self._embedded, 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress(before + done, self._to_embed)

        encoded = np.asarray(self.embedder.encode(texts, progress=step), dtype=np.float32)
        self._embedded += len(texts)
        return encoded

    def _manifest(self, db: sqlite3.Connection, number: int) -> Manifest:
        articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        sentences = db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0]
        newest = db.execute("SELECT MAX(published) FROM articles").fetchone()[0]
        self.report.articles_total = int(articles)
        self.report.sentences_total = int(sentences)
        return Manifest(
            model=self.embedder.name,
            dimension=self.embedder.dimension,
            articles=int(articles),
            sentences=int(sentences),
            built_at=now_iso(),
            generation=number,
            newest_article=newest,
        )


def write(
    directory: Path,
    embedder: Embedder,
    upserts: Iterable[Article] = (),
    removals: Iterable[str] = (),
    *,
    fresh: bool = False,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    ann_threshold: int = ann.ANN_THRESHOLD,
    split: dict[str, list[Sentence]] | None = None,
) -> ChangeReport:
    """Publish the next generation of the index at ``directory`` under the writer lock; ``split`` gives
    articles' sentences as already cut (an export from another store)."""
    lock = writer_lock(directory, notify=notify)
    try:
        return GenerationWriter(directory, embedder, fresh, progress, ann_threshold).run(upserts, removals, split)
    finally:
        lock.release()
