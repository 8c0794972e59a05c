"""Keyword (BM25) search with SQLite FTS5, stored in each generation's meta.sqlite.

FTS5 is SQLite's full-text engine with a built-in ``bm25()`` ranking (k1=1.2, b=0.75) and the
Porter stemmer. It lives in the same transactional file as the metadata, so ``index add`` and
removals update it row by row, it is never out of step with the vectors of its generation, and
it scales to millions of rows without loading anything into memory.
"""

from __future__ import annotations

import math
import re
import sqlite3

TOKENIZER = "porter unicode61 remove_diacritics 2"
SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS sentences_fts USING fts5(text, tokenize='{TOKENIZER}');
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(title, body, tokenize='{TOKENIZER}');
"""
TOKEN = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how in is it its of on or the this that "
    "to was were what when where which who whom whose why will with about into than then there their they "
    "said says say can could would should been being any all much many".split()
)
TITLE_WEIGHT = 0.5  # bm25() column weights for articles_fts: (title, body)


def terms(question: str) -> list[str]:
    """Distinct content words of a question, in order."""
    return list(dict.fromkeys(t for t in TOKEN.findall(question.lower()) if t not in STOPWORDS and len(t) > 1))


def match_expression(words: list[str]) -> str:
    """An FTS5 query OR-ing the words, each quoted so no user text is read as FTS syntax."""
    return " OR ".join('"' + w.replace('"', "") + '"' for w in words)


def add_sentences(db: sqlite3.Connection, rows: list[tuple[int, str]]) -> None:
    db.executemany("INSERT INTO sentences_fts(rowid, text) VALUES (?, ?)", rows)


def add_article(db: sqlite3.Connection, rowid: int, title: str | None, body: str) -> None:
    db.execute("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)", (rowid, title or "", body))


def remove(db: sqlite3.Connection, article_rowid: int, sentence_ids: list[int]) -> None:
    db.execute("DELETE FROM articles_fts WHERE rowid = ?", (article_rowid,))
    db.executemany("DELETE FROM sentences_fts WHERE rowid = ?", [(i,) for i in sentence_ids])


def top_sentences(db: sqlite3.Connection, words: list[str], k: int) -> dict[int, float]:
    """sentence id -> BM25 score (higher is better) of the k best keyword matches."""
    if not words:
        return {}
    rows = db.execute(
        "SELECT rowid, -bm25(sentences_fts) FROM sentences_fts WHERE sentences_fts MATCH ? "
        "ORDER BY bm25(sentences_fts) LIMIT ?", (match_expression(words), k))
    return {int(r): float(s) for r, s in rows}


def top_articles(db: sqlite3.Connection, words: list[str], k: int) -> dict[int, float]:
    """article rowid -> BM25 score over title and body."""
    if not words:
        return {}
    rank = f"bm25(articles_fts, {TITLE_WEIGHT}, 1.0)"
    rows = db.execute(
        f"SELECT rowid, -{rank} FROM articles_fts WHERE articles_fts MATCH ? ORDER BY {rank} LIMIT ?",
        (match_expression(words), k))
    return {int(r): float(s) for r, s in rows}


def coverage(db: sqlite3.Connection, words: list[str], article_rowid: int | None,
             cache: dict[str, int] | None = None) -> tuple[float, float]:
    """(known, covered): IDF-weighted share of the question's words found anywhere in the index,
    and found in one article. Low values mean the articles are about something else.
    ``cache`` keeps document frequencies (and the article count under "") between questions;
    pass one per generation, which never changes."""
    if not words:
        return 1.0, 0.0
    cache = {} if cache is None else cache
    if "" not in cache:
        cache[""] = db.execute("SELECT COUNT(*) FROM articles_fts").fetchone()[0]
    n = cache[""]
    total = missing = covered = 0.0
    for word in words:
        expr = match_expression([word])
        if word not in cache:
            cache[word] = db.execute("SELECT COUNT(*) FROM articles_fts WHERE articles_fts MATCH ?", (expr,)).fetchone()[0]
        df = cache[word]
        idf = math.log(1.0 + (n + 1) / (df + 0.5))
        total += idf
        if df == 0:
            missing += idf
        elif article_rowid is not None and db.execute(
                "SELECT 1 FROM articles_fts WHERE articles_fts MATCH ? AND rowid = ?", (expr, article_rowid)).fetchone():
            covered += idf
    if total <= 0:
        return 1.0, 0.0
    return 1.0 - missing / total, covered / total
