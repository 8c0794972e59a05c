"""The sentence table: per-sentence numbers the retriever needs on every question, kept in numpy.

One row per sentence, sorted by sentence id (= FAISS id): the article's rowid, the sentence's
position in its article and its answer-type flags. Hybrid retrieval scores a few hundred
candidates per question; looking their article, neighbours and flags up here instead of in
SQLite keeps a question's cost independent of the collection's size. Written by each generation
as ``table.npz`` (about 17 bytes a sentence); SQLite stays the home of the text and citations.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "table.npz"
TIME = 1  # holds a year, month, weekday or "century"
NUMBER = 2  # holds a figure or a number word
PERSON = 4  # names a person or an office: an honorific, a title ("minister", "mayor"), "said X Y", "by X Y"
HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(january|february|march|april|may|june|july|august|september"
                      r"|october|november|december|century|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)
HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
                        r"|hundred|thousand|million|billion|dozen)\b", re.I)


HAS_PERSON = re.compile(
    r"\b(?:Mr|Ms|Mrs|Dr|Prof|Shri|Smt|Sir|Dame|Lord|Lady|H\.E)\.? [A-Z]"
    r"|\b(?i:minister|secretary|president|chairman|chairwoman|chairperson|director|chief|mayor|governor|ambassador"
    r"|spokesman|spokeswoman|spokesperson|commissioner|mediator|ceo|founder|senator|chancellor|premier|envoy)\b"
    r"|\b(?:said|says|told|by|according to) [A-Z][a-z]+ [A-Z][a-z]+"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+,? (?:said|says|told)\b")


def flags(text: str) -> int:
    return ((TIME if HAS_TIME.search(text) else 0) | (NUMBER if HAS_NUMBER.search(text) else 0)
            | (PERSON if HAS_PERSON.search(text) else 0))


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
        return self.table.ids[rows]

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
