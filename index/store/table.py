"""The sentence table: per-sentence numbers the retriever needs on every question, kept in numpy.

One row per sentence, sorted by sentence id (= FAISS id): the article's rowid, the sentence's
position in its article and its answer-type flags. Hybrid retrieval scores a few hundred
candidates per question; looking their article, neighbours and flags up here instead of in
SQLite keeps a question's cost independent of the collection's size. Written by each generation
as ``table.npz`` (about 17 bytes a sentence); SQLite stays the home of the text and citations.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from citebot.index.store.base import Filter

FILE = "table.npz"


@dataclass
class SentenceTable:
    ids: np.ndarray  # int64, ascending
    article: np.ndarray  # int64 article rowid
    position: np.ndarray  # int32 index of the sentence in its article
    flags: np.ndarray  # uint8 TIME | NUMBER

    @classmethod
    def empty(cls) -> SentenceTable:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8))

    @classmethod
    def load(cls, generation: Path) -> SentenceTable:
        """The generation's table; ValueError when it is damaged (OSError when missing)."""
        try:
            with np.load(generation / FILE) as data:
                return cls(data["ids"], data["article"], data["position"], data["flags"])
        except (zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise ValueError(f"{FILE} is damaged ({exc})") from None

    def save(self, generation: Path) -> None:
        with open(generation / FILE, "wb") as out:
            np.savez(out, ids=self.ids, article=self.article, position=self.position, flags=self.flags)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def without(self, sentence_ids: list[int]) -> SentenceTable:
        if not sentence_ids:
            return self
        keep = ~np.isin(self.ids, np.asarray(sentence_ids, dtype=np.int64))
        return SentenceTable(self.ids[keep], self.article[keep], self.position[keep], self.flags[keep])

    def plus(self, ids: list[int], article: list[int], position: list[int], flag: list[int]) -> SentenceTable:
        if not ids:
            return self
        merged = SentenceTable(
            np.concatenate([self.ids, np.asarray(ids, np.int64)]),
            np.concatenate([self.article, np.asarray(article, np.int64)]),
            np.concatenate([self.position, np.asarray(position, np.int32)]),
            np.concatenate([self.flags, np.asarray(flag, np.uint8)]),
        )
        if len(merged) > 1 and not np.all(np.diff(merged.ids) > 0):  # ids come from AUTOINCREMENT: never expected
            order = np.argsort(merged.ids, kind="stable")
            merged = SentenceTable(merged.ids[order], merged.article[order], merged.position[order], merged.flags[order])
        return merged

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row numbers of sentence ids (which must be in the table)."""
        return np.searchsorted(self.ids, ids)


class TableIndex:
    """A loaded table with the lookups a question needs: by id, by article, neighbours."""

    def __init__(self, table: SentenceTable) -> None:
        self.table = table
        self.by_article = np.argsort(table.article, kind="stable")
        self.sorted_articles = table.article[self.by_article]

    def sentences_of(self, article_rowids: np.ndarray) -> np.ndarray:
        """Sentence ids of the given articles."""
        if article_rowids.size == 0:
            return np.zeros(0, np.int64)
        starts = np.searchsorted(self.sorted_articles, article_rowids, side="left")
        ends = np.searchsorted(self.sorted_articles, article_rowids, side="right")
        rows = np.concatenate([self.by_article[s:e] for s, e in zip(starts, ends, strict=True)])
        return np.asarray(self.table.ids[rows])

    def neighbours(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row: the row of the sentence before and after it in the same article, or -1."""
        return self._neighbour(rows, -1), self._neighbour(rows, 1)

    def _neighbour(self, rows: np.ndarray, step: int) -> np.ndarray:
        t = self.table
        other = rows + step
        at = np.clip(other, 0, max(len(t) - 1, 0))
        ok = (other >= 0) & (other < len(t)) & (t.article[at] == t.article[rows]) & (t.position[at] == t.position[rows] + step)
        return np.where(ok, other, -1)

    def contexts(self, sentence_ids: list[int],
                 texts: Callable[[Iterable[int]], dict[int, str]]) -> list[tuple[str | None, str | None]]:
        """For each sentence: the texts of the sentences just before and after it in its article
        (None at the edges), read with ``texts`` (the store's id -> text lookup) in one call."""
        if not sentence_ids:
            return []
        rows = self.table.rows_of(np.asarray(sentence_ids, dtype=np.int64))
        before, after = self.neighbours(rows)
        ids = self.table.ids
        side = [(int(ids[b]) if b >= 0 else None, int(ids[a]) if a >= 0 else None) for b, a in zip(before, after, strict=True)]
        found = texts(i for pair in side for i in pair if i is not None)
        return [(found.get(b) if b is not None else None, found.get(a) if a is not None else None) for b, a in side]


@dataclass
class ArticleTable:
    """Each article's publication day and outlet, in memory, for filters (one row per article)."""

    rowids: np.ndarray  # int64
    days: np.ndarray  # int64 proleptic ordinal of the publication date, -1 without one
    outlet: np.ndarray  # int32 index into ``outlets``, -1 without one
    outlets: list[str]

    @classmethod
    def of(cls, rows: Iterable[tuple[int, str | None, str | None]]) -> ArticleTable:
        """From (rowid, published ISO date or None, outlet or None) rows."""
        names: dict[str, int] = {}
        rowids, days, outlet = [], [], []
        for rowid, published, source in rows:
            rowids.append(int(rowid))
            days.append(_ordinal(published))
            outlet.append(names.setdefault(source, len(names)) if source else -1)
        return cls(np.asarray(rowids, np.int64), np.asarray(days, np.int64), np.asarray(outlet, np.int32), list(names))

    def allowed(self, where: Filter) -> np.ndarray:
        """Rowids of the articles the filter lets through."""
        keep = np.ones(len(self.rowids), bool)
        if where.since is not None:
            keep &= self.days >= where.since.toordinal()
        if where.until is not None:
            keep &= (self.days >= 0) & (self.days <= where.until.toordinal())
        if where.sources:
            wanted = [n for n, name in enumerate(self.outlets) if name in where.sources]
            keep &= np.isin(self.outlet, np.asarray(wanted, np.int32))
        return np.asarray(self.rowids[keep])

    def span(self) -> tuple[date, date] | None:
        dated = self.days[self.days >= 0]
        return (date.fromordinal(int(dated.min())), date.fromordinal(int(dated.max()))) if dated.size else None


def _ordinal(published: str | None) -> int:
    try:
        return date.fromisoformat(published[:10]).toordinal() if published else -1
    except ValueError:
        return -1


class SentenceLookups:
    """The per-sentence lookups every Reader offers (its article, flags, neighbours, the sentences of an
    article), answered from the reader's in-memory sentence table; each store's reader sets ``_table``
    and provides ``texts``."""

    _table: TableIndex
    _articles: ArticleTable
    _last_allowed: tuple[Filter, np.ndarray, np.ndarray] | None = None  # (filter, its articles, its sentences)

    def texts(self, ids: Iterable[int]) -> dict[int, str]:
        raise NotImplementedError

    def outlets(self) -> list[str]:
        """The outlets the generation's articles name, in the order first seen."""
        return list(self._articles.outlets)

    def date_span(self) -> tuple[date, date] | None:
        """The earliest and latest publication dates, None when no article has one."""
        return self._articles.span()

    def allowed_articles(self, where: Filter | None) -> np.ndarray | None:
        """Rowids of the articles ``where`` lets through, ascending; None without a filter."""
        return self._allowed(where)[0] if where else None

    def allowed_sentences(self, where: Filter | None) -> np.ndarray | None:
        """Sentence ids of the articles ``where`` lets through, ascending; None without a filter."""
        return self._allowed(where)[1] if where else None

    def _allowed(self, where: Filter) -> tuple[np.ndarray, np.ndarray]:
        """(article rowids, sentence ids) a filter lets through, computed once for the last filter asked about:
        a question's four searches (dense and keyword, sentences and articles) share them."""
        last = self._last_allowed  # one tuple, replaced whole: safe across the bot's threads
        if last is not None and last[0] == where:
            return last[1], last[2]
        articles = np.sort(self._articles.allowed(where))
        sentences = np.sort(self._table.sentences_of(articles))
        self._last_allowed = (where, articles, sentences)
        return articles, sentences

    def sentence_ids(self) -> np.ndarray:
        """Every sentence id of the generation, ascending."""
        return self._table.table.ids

    def articles_of(self, ids: np.ndarray) -> np.ndarray:
        """The article rowid of each sentence id (which must exist)."""
        t = self._table.table
        return np.asarray(t.article[t.rows_of(ids)])

    def flags_of(self, ids: np.ndarray) -> np.ndarray:
        """The answer-type flags (ingest/answer_types.py) of each sentence id (which must exist)."""
        t = self._table.table
        return np.asarray(t.flags[t.rows_of(ids)])

    def sentences_of(self, article_rowids: np.ndarray) -> np.ndarray:
        """Sentence ids of the given articles."""
        return self._table.sentences_of(article_rowids)

    def neighbours(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each sentence id: the id of the sentence before and after it in its article, or -1."""
        t = self._table.table
        if not len(t):
            return np.full(len(ids), -1, np.int64), np.full(len(ids), -1, np.int64)
        before, after = self._table.neighbours(t.rows_of(ids))
        return np.where(before >= 0, t.ids[before], -1), np.where(after >= 0, t.ids[after], -1)

    def contexts(self, sentence_ids: list[int]) -> list[tuple[str | None, str | None]]:
        """For each sentence: the texts of the sentences just before and after it in its article (None at the edges)."""
        return self._table.contexts(sentence_ids, self.texts)

