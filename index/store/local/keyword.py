"""Keyword (BM25) search with tantivy, one pair of tantivy indexes per generation.

tantivy (the Rust search engine behind Quickwit, through its official Python bindings) ranks with
BM25 (k1=1.2, b=0.75) over an English-stemmed, accent-folded analysis of the text, answers an OR
query over a million sentences in about a millisecond (block-max WAND), and updates
incrementally: ``index add`` deletes and adds documents and commits, it never re-indexes the
collection. It replaced SQLite FTS5, whose ``bm25()`` scores every matching row: with it a whole
``ask`` took 406 ms (p50) at a million sentences, 30 ms with tantivy (bench/scale.py).

Scores are BM25 over each document's exact length. tantivy keeps a field's length in one byte (exact up
to 40 terms, rounded down beyond: a 60-term article counts as 56), which moves long documents' scores
by up to ~5 %. The reader passes each hit's terms counted (once per generation, from SQLite), and hits
over 40 terms are scored again from those counts with tantivy's own document count and average length
(read once from its explanation of a score). The Milvus store's BM25 uses exact lengths too, so both
stores rank alike (bench/store_parity.py).

Layout inside a generation::

    keyword/sentences/   one document per sentence: id (the FAISS id), text
    keyword/articles/    one document per article: rowid, title, body

A new generation starts from hard links to the previous one's segment files (tantivy never
rewrites a segment file; its two JSON files, which it does rewrite, are copied), so the live
generation is never touched by a writer.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import tantivy

from citebot.index.ingest.words import analyzer
from citebot.index.store.bm25 import K1, TITLE_WEIGHT, B, idf_coverage
from citebot.index.store.local.generations import opening

SENTENCES = Path("keyword") / "sentences"
ARTICLES = Path("keyword") / "articles"
ANALYZER = "citebot_en"
WRITER_HEAP = 128_000_000
EXACT_UP_TO = 40  # tantivy keeps a field's length in one byte: exact up to 40 tokens, rounded down beyond
WIDER = 2  # hits read before exact lengths re-rank them (an exact length only lowers a score)
GATE_MAX = 10_000  # allowed documents a filtered search restricts as a term set (more: read in score order, _search)
FIELD = re.compile(r"field=(\d+)")
WORD_RUN = re.compile(r"[^\W_]+")  # letters and digits (str.isalnum), which the simple tokenizer keeps together
COUNT_RUNS_UP_TO = 12 * EXACT_UP_TO  # characters: a longer field is analysed at once (counted)

SENTENCE_TEXT, ARTICLE_TITLE, ARTICLE_BODY = 1, 1, 2  # tantivy field numbers, in the order the schemas add them


class Counted(NamedTuple):
    """A document's text fields as BM25 sees them: the longest field's length, and each field's terms counted
    (tantivy field number -> (length, term -> count))."""

    longest: int
    fields: dict[int, tuple[int, Counter[str]]]


# document key (sentence id or article rowid) -> its Counted, for the keys the caller knows (documents left out
# keep tantivy's score)
TermCounts = Callable[[list[int]], dict[int, Counted]]


def _sentence_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


def _article_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rowid", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name=ANALYZER, index_option="freq")
    builder.add_text_field("body", tokenizer_name=ANALYZER, index_option="freq")
    return builder.build()


SEGMENT_FILES = ("idx", "pos", "term", "store", "fast", "fieldnorm")  # what tantivy writes for every segment


def require(generation: Path) -> None:
    """Both keyword indexes of a generation exist with every segment file their meta.json lists (tantivy would
    quietly start an empty index, and opens a segment's files only at the first search)."""
    for part in (SENTENCES, ARTICLES):
        meta = generation / part / "meta.json"
        if not meta.is_file():
            raise FileNotFoundError(f"{meta} is missing")
        for segment in _segments(generation / part):
            stem = str(segment["segment_id"]).replace("-", "")
            for ext in SEGMENT_FILES:
                if not (generation / part / f"{stem}.{ext}").is_file():
                    raise FileNotFoundError(f"{generation / part / f'{stem}.{ext}'} is missing")


def _segments(index: Path) -> list[dict[str, Any]]:
    """The segments a keyword index's meta.json lists (id, documents, deletions)."""
    return cast(list[dict[str, Any]], json.loads((index / "meta.json").read_text(encoding="utf-8")).get("segments", []))


def _open(path: Path, schema: tantivy.Schema) -> tantivy.Index:
    index = tantivy.Index(schema, path=str(path), reuse=True)
    index.register_tokenizer(ANALYZER, analyzer())  # analyzers are not stored in the index: register on every open
    return index


def _link_or_copy(source: str, target: str) -> None:
    if source.endswith(".json"):  # rewritten in place by tantivy: each generation needs its own copy
        shutil.copy2(source, target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


class KeywordWriter:
    """Stages the keyword indexes of a new generation, starting from the previous generation's."""

    def __init__(self, staged: Path, base: Path | None) -> None:
        self.indexes: list[tantivy.Index] = []
        self.pending: list[tantivy.IndexWriter] = []  # writers not yet committed or rolled back
        for relative, schema in ((SENTENCES, _sentence_schema()), (ARTICLES, _article_schema())):
            target = staged / relative
            if base is not None and (base / relative).is_dir():
                shutil.copytree(base / relative, target, copy_function=_link_or_copy,
                                ignore=shutil.ignore_patterns("*.lock"))
            else:
                target.mkdir(parents=True)
            index = _open(target, schema)
            self.indexes.append(index)
            self.pending.append(index.writer(heap_size=WRITER_HEAP, num_threads=1))
        self.sentence_writer, self.article_writer = self.pending
        self.sentence_schema = self.indexes[0].schema
        self.article_schema = self.indexes[1].schema

    def add_sentences(self, rows: Iterable[tuple[int, str]]) -> None:
        writer = self.sentence_writer
        for sentence_id, text in rows:
            writer.add_document(tantivy.Document(id=sentence_id, text=text))

    def add_article(self, rowid: int, title: str | None, body: str) -> None:
        self.article_writer.add_document(tantivy.Document(rowid=rowid, title=title or "", body=body))

    def remove(self, article_rowids: list[int], sentence_ids: list[int]) -> None:
        if sentence_ids:
            self.sentence_writer.delete_documents_by_query(tantivy.Query.term_set_query(self.sentence_schema, "id", sentence_ids))
        if article_rowids:
            self.article_writer.delete_documents_by_query(tantivy.Query.term_set_query(self.article_schema, "rowid", article_rowids))

    def commit(self) -> None:
        """Make everything durable in the staged directory, merges finished, unused files gone."""
        while self.pending:  # a tantivy writer is consumed by wait_merging_threads
            writer = self.pending.pop(0)
            writer.commit()
            writer.wait_merging_threads()
        for index in self.indexes:
            index.reload()
            cleaner = index.writer(heap_size=15_000_000, num_threads=1)
            cleaner.garbage_collect_files()
            cleaner.wait_merging_threads()

    def close(self) -> None:
        """Drop uncommitted work and stop the writers' threads (after a failure); no-op after commit."""
        while self.pending:
            writer = self.pending.pop(0)
            writer.rollback()
            writer.wait_merging_threads()

    def counts(self) -> tuple[int, int]:
        """(sentences, articles) held after commit."""
        return self.indexes[0].searcher().num_docs, self.indexes[1].searcher().num_docs


class KeywordIndex:
    """The read side: BM25 top sentences and articles, and how much of a question the articles cover."""

    def __init__(self, generation: Path) -> None:
        self.paths = {"id": generation / SENTENCES, "rowid": generation / ARTICLES}  # by document key, for messages
        self.sentences = _open(generation / SENTENCES, _sentence_schema())
        self.articles = _open(generation / ARTICLES, _article_schema())
        self.sentence_searcher = self.sentences.searcher()  # a generation never changes: one searcher for its life
        self.article_searcher = self.articles.searcher()
        self.sentence_schema = self.sentences.schema
        self.article_schema = self.articles.schema
        self.article_df: dict[str, int] = {}  # term -> articles holding it (cached: the generation is immutable)
        self.articles_deleted = any(segment.get("deletes") for segment in _segments(generation / ARTICLES))  # see _df
        self.field_stats: dict[tuple[str, int], tuple[float, float]] = {}  # (index key, field) -> (documents, average length)

    @property
    def sentence_count(self) -> int:
        return int(self.sentence_searcher.num_docs)

    @property
    def article_count(self) -> int:
        return int(self.article_searcher.num_docs)

    @staticmethod
    def _any_of(schema: tantivy.Schema, field: str, words: list[str], boost: float = 1.0) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        clauses = []
        for word in words:
            query = tantivy.Query.term_query(schema, field, word)
            clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(query, boost) if boost != 1.0 else query))
        return clauses

    def top_sentences(self, words: list[str], k: int, counts: TermCounts | None = None,
                      only: Sequence[int] | np.ndarray | None = None) -> dict[int, float]:
        """sentence id -> BM25 score of the k best keyword matches (terms from ``terms()``), among the sentence
        ids ``only`` when given."""
        if not words or k <= 0 or (only is not None and not len(only)):
            return {}
        query = tantivy.Query.boolean_query(self._any_of(self.sentence_schema, "text", words))
        return self._top(self.sentence_searcher, query, "id", k, counts, words, {SENTENCE_TEXT: ("text", 1.0)}, only)

    def top_articles(self, words: list[str], k: int, counts: TermCounts | None = None,
                     only: Sequence[int] | np.ndarray | None = None) -> dict[int, float]:
        """article rowid -> BM25 score over body and (at TITLE_WEIGHT) title, among the rowids ``only`` when given."""
        if not words or k <= 0 or (only is not None and not len(only)):
            return {}
        clauses = self._any_of(self.article_schema, "body", words) + self._any_of(self.article_schema, "title", words, TITLE_WEIGHT)
        query = tantivy.Query.boolean_query(clauses)
        return self._top(self.article_searcher, query, "rowid", k, counts, words,
                         {ARTICLE_BODY: ("body", 1.0), ARTICLE_TITLE: ("title", TITLE_WEIGHT)}, only)

    def _search(self, searcher: tantivy.Searcher, query: tantivy.Query, depth: int, key: str,
                only: Sequence[int] | np.ndarray | None) -> tuple[list[tuple[float, tantivy.DocAddress]], list[int]]:
        """The ``depth`` best hits of ``query`` (score, address) and their keys, best first, among the documents
        whose ``key`` is in ``only`` (ascending) when given. Up to GATE_MAX keys restrict the search itself, as
        a term set at a constant score of 0. More would make that term set the cost of the search (50,000
        sentence ids: 80 ms at a million sentences), so the query's hits are read in score order, deeper and
        deeper, until ``depth`` of them are allowed or none is left: the same hits, found exactly."""
        if only is None or len(only) <= GATE_MAX:
            if only is not None:
                gate = tantivy.Query.const_score_query(tantivy.Query.term_set_query(self._schema(key), key, [int(i) for i in only]), 0.0)
                query = tantivy.Query.boolean_query([(tantivy.Occur.Must, gate), (tantivy.Occur.Must, query)])
            found = searcher.search(query, depth, count=False).hits
            return found, [int(cast(int, i)) for i in searcher.fast_field_values(key, [address for _, address in found])]
        allowed = np.sort(np.asarray(only, dtype=np.int64))
        wanted = int(depth * searcher.num_docs / len(allowed) * 1.5) + depth
        while True:
            found = searcher.search(query, wanted, count=False).hits
            keys = np.asarray(searcher.fast_field_values(key, [address for _, address in found]), dtype=np.int64)
            at = np.minimum(np.searchsorted(allowed, keys), len(allowed) - 1)
            inside = np.flatnonzero(allowed[at] == keys)
            if len(inside) >= depth or len(found) < wanted:
                inside = inside[:depth]
                return [found[i] for i in inside], [int(keys[i]) for i in inside]
            wanted *= 4

    def _schema(self, key: str) -> tantivy.Schema:
        return self.sentence_schema if key == "id" else self.article_schema

    def _top(self, searcher: tantivy.Searcher, query: tantivy.Query, key: str, k: int, counts: TermCounts | None,
             words: list[str], fields: dict[int, tuple[str, float]], only: Sequence[int] | np.ndarray | None = None) -> dict[int, float]:
        """key -> score of the k best hits (among ``only``, see ``_search``); with ``counts``, BM25 over each
        document's exact length (as Milvus and the BM25 formula have it) instead of tantivy's one-byte
        rounding of lengths over 40 tokens."""
        with opening(self.paths[key]):  # damage found only now (tantivy reads segments lazily) reads as at open
            found, keys = self._search(searcher, query, k * WIDER if counts else k, key, only)
        if counts is None:
            return {i: float(score) for (score, _), i in zip(found, keys, strict=True)}
        known: dict[int, Counted] = {}
        read = 0  # hits whose terms are counted: k at first, then a quarter of k at a time, as far as the loop goes
        idf: dict[tuple[str, str], float] = {}
        scores: dict[int, float] = {}
        best: list[float] = []  # a heap of the k best exact scores so far
        for n, ((score, address), i) in enumerate(zip(found, keys, strict=True)):
            if len(best) == k and best[0] >= score:
                break  # rounding a length down only raises a score: no hit from here on can enter the k best
            if n == read:
                read = n + (k if n == 0 else k // 4 + 1)
                known.update(counts(keys[n:read]))
            counted = known.get(i)
            if counted is not None and counted.longest > EXACT_UP_TO:
                score = self._exact(searcher, query, address, key, words, fields, counted, idf)
            scores[i] = float(score)
            (heapq.heappush if len(best) < k else heapq.heappushpop)(best, scores[i])
        return dict(sorted(scores.items(), key=lambda kv: -kv[1])[:k])

    def _exact(self, searcher: tantivy.Searcher, query: tantivy.Query, address: tantivy.DocAddress, key: str, words: list[str],
               fields: dict[int, tuple[str, float]], counted: Counted, idf: dict[tuple[str, str], float]) -> float:
        """BM25 of one document from its own term counts and exact lengths; the document count and average
        length of each field are tantivy's (read once from its explanation of a score)."""
        total = 0.0
        for number, (name, boost) in fields.items():
            if number not in counted.fields:
                continue
            dl, held = counted.fields[number]
            for word in words:
                tf = held.get(word, 0)
                if not tf:
                    continue
                stats = self.field_stats.get((key, number))
                if stats is None:
                    self._read_stats(searcher, query, address, key)
                    stats = self.field_stats[(key, number)]
                docs, avgdl = stats
                if (name, word) not in idf:
                    n = searcher.doc_freq(name, word)
                    idf[(name, word)] = math.log(1.0 + (docs - n + 0.5) / (n + 0.5))
                total += boost * idf[(name, word)] * (K1 + 1) * tf / (tf + K1 * (1 - B + B * dl / avgdl))
        return total

    def _read_stats(self, searcher: tantivy.Searcher, query: tantivy.Query, address: tantivy.DocAddress, key: str) -> None:
        """Each field's (document count, average length) as tantivy scores with them, from one explanation."""
        def walk(node: dict[str, Any]) -> None:
            if node["description"].startswith("TermQuery"):
                _, idf, norm = node["details"]
                field = FIELD.search(" ".join(node.get("context", [])))
                if field:
                    docs = next(d["value"] for d in idf["details"] if d["description"].startswith("N,"))
                    avgdl = next(d["value"] for d in norm["details"] if d["description"].startswith("avgdl"))
                    self.field_stats[(key, int(field.group(1)))] = (docs, avgdl)
            for child in node.get("details", []):
                walk(child)

        walk(json.loads(query.explain(searcher, address).to_json()))

    def _title_or_body(self, word: str) -> tantivy.Query:
        return tantivy.Query.boolean_query(self._any_of(self.article_schema, "body", [word])
                                           + self._any_of(self.article_schema, "title", [word]))

    def _df(self, word: str) -> int:
        """Articles holding ``word`` in their title or body. Without deleted documents, the term dictionary's
        count for the body (which it keeps, deleted documents included) plus a count of the few articles with
        the word in the title alone; otherwise a count of the matching articles (a scan of both postings)."""
        if word not in self.article_df:
            if self.articles_deleted:
                query = self._title_or_body(word)
                held = 0
            else:
                title = tantivy.Query.term_query(self.article_schema, "title", word)
                body = tantivy.Query.term_query(self.article_schema, "body", word)
                query = tantivy.Query.boolean_query([(tantivy.Occur.Must, title), (tantivy.Occur.MustNot, body)])
                held = int(self.article_searcher.doc_freq("body", word))
            found = self.article_searcher.search(query, 1, count=True)
            self.article_df[word] = held + int(getattr(found, "count", None) or 0)
        return self.article_df[word]

    def coverage(self, words: list[str], article_rowid: int | None) -> tuple[float, float]:
        """(known, covered): IDF-weighted share of the question's terms found anywhere in the articles,
        and found in one article. Low values mean the articles are about something else."""
        if not words:
            return 1.0, 0.0
        n = self.article_count
        in_article: set[str] = set()
        if article_rowid is not None:
            only = (tantivy.Occur.Must, tantivy.Query.term_query(self.article_schema, "rowid", article_rowid))
            for word in words:
                query = tantivy.Query.boolean_query([only, (tantivy.Occur.Must, self._title_or_body(word))])
                if self.article_searcher.search(query, 1, count=False).hits:
                    in_article.add(word)
        return idf_coverage(words, {word: self._df(word) for word in words}, in_article, n)


def counted(fields: dict[int, str]) -> Counted:
    """Text fields (tantivy field number -> text) with the terms tantivy indexes for them counted. A document
    whose every field holds at most EXACT_UP_TO runs of letters and digits (tantivy's simple tokenizer makes at
    most one term of each) has lengths tantivy keeps exactly: it is not analysed, and keeps tantivy's score. A
    field longer than COUNT_RUNS_UP_TO characters is analysed without counting its runs first (it nearly always
    has more than EXACT_UP_TO; when it has fewer, the result says so and the score is kept all the same)."""
    if all(len(text) <= COUNT_RUNS_UP_TO for text in fields.values()):
        runs = max((len(WORD_RUN.findall(text)) for text in fields.values()), default=0)
        if runs <= EXACT_UP_TO:
            return Counted(runs, {})
    out = {}
    for number, text in fields.items():
        terms = analyzer().analyze(text)
        out[number] = (len(terms), Counter(terms))
    return Counted(max((n for n, _ in out.values()), default=0), out)
