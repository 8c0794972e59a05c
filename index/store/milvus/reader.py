"""Reading one Milvus generation: dense and BM25 search, vectors, texts and citations of the
collections it pinned when it opened (a question never mixes generations)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from citebot.index.errors import IndexCorrupt, IndexMismatch
from citebot.index.ingest.words import terms_of
from citebot.index.records import Hit
from citebot.index.store.base import Filter
from citebot.index.store.bm25 import TITLE_WEIGHT, idf_coverage
from citebot.index.store.manifest import Manifest
from citebot.index.store.milvus.client import INDEX_SEARCH, MAX_LIMIT, Row, ints, pk, strings
from citebot.index.store.milvus.collections import Collections
from citebot.index.store.table import ArticleTable, SentenceLookups, SentenceTable, TableIndex


class MilvusReader(SentenceLookups):
    """One generation in Milvus, pinned by collection name; the sentence table is loaded into memory."""

    def __init__(self, store: Collections, sentences: str, manifest: Manifest) -> None:
        self.store = store
        self.generation = sentences
        self.sentences = sentences
        self.articles = sentences + "_articles"
        self.docs = sentences + "_docs"
        self._manifest = manifest
        rows = sorted((int(r["id"]), int(r["article"]), int(r["position"]), int(r["flags"]))
                       for r in store.scan(sentences, "sentences", ["id", "article", "position", "flags"]))
        table = SentenceTable.empty().plus([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                                           [r[3] for r in rows])
        if len(table) != manifest.sentences:
            raise IndexCorrupt(f"Milvus collection {sentences} at {store.uri} holds {len(table)} sentences, its manifest "
                               f"says {manifest.sentences}; rebuild it with `citebot index build`")
        self._table = TableIndex(table)
        self._articles = ArticleTable.of(sorted((int(r["rowid"]), *_dated(r["meta"]))
                                                for r in store.scan(sentences, "articles", ["rowid", "meta"])))
        self._article_count = manifest.articles
        self._df: dict[str, int] | None = None

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def check_dimension(self, dimension: int) -> None:
        if dimension != self._manifest.dimension:
            raise IndexMismatch(f"Milvus collection {self.store.alias!r} at {self.store.uri} holds {self._manifest.dimension}-"
                                f"dimensional vectors but the model gives {dimension}; rebuild it with `citebot index build`")

    def sentence_count(self) -> int:
        return len(self._table.table)

    def _search(self, collection: str, data: list[Any], field: str, k: int, expr: str = "", metric: str = "IP",
                fields: list[str] | None = None) -> list[Row]:
        if k <= 0:
            return []
        params: dict[str, Any] = {"metric_type": metric}
        if field == "vector" and collection == self.sentences:
            params["params"] = INDEX_SEARCH.get(self.store.index_type, {})
        found = self.store.call("search", collection, data=data, anns_field=field, limit=min(k, MAX_LIMIT), filter=expr,
                                search_params=params, output_fields=fields or [])
        return list(found[0]) if found else []

    def _where(self, where: Filter | None, key: str) -> str | None:
        """A Milvus boolean expression on the scalar field ``key`` (a sentence's article, an article's rowid)
        for the filter: "" without one, None when no article passes."""
        allowed = self.allowed_articles(where)
        if allowed is None:
            return ""
        return f"{key} in {ints(allowed)}" if allowed.size else None

    def dense_sentences(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        expr = self._where(where, "article")
        if expr is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        hits = self._search(self.sentences, [query[0].astype(np.float32).tolist()], "vector", min(k, self.sentence_count()), expr=expr)
        return (np.asarray([int(h["id"]) for h in hits], dtype=np.int64),
                np.asarray([float(h["distance"]) for h in hits], dtype=np.float32))

    def dense_articles(self, query: np.ndarray, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        expr = self._where(where, "rowid")
        if expr is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        hits = self._search(self.articles, [query[0].astype(np.float32).tolist()], "vector", min(k, self._article_count), expr=expr)
        return (np.asarray([pk(h) for h in hits], dtype=np.int64),
                np.asarray([float(h["distance"]) for h in hits], dtype=np.float32))

    def _vectors(self, collection: str, key: str, ids: np.ndarray) -> np.ndarray:
        wanted = [int(i) for i in ids]
        if not wanted:
            return np.zeros((0, self._manifest.dimension), np.float32)
        rows = self.store.call("query", collection, filter=f"{key} in {ints(wanted)}", output_fields=[key, "vector"])
        by_id = {int(r[key]): r["vector"] for r in rows}
        return np.asarray([by_id[i] for i in wanted], dtype=np.float32)

    def sentence_vectors(self, ids: np.ndarray) -> np.ndarray:
        return self._vectors(self.sentences, "id", ids)

    def article_vectors_of(self, rowids: np.ndarray) -> np.ndarray:
        return self._vectors(self.articles, "rowid", rowids)

    @staticmethod
    def _query_text(words: list[str]) -> str:
        return " ".join(terms_of(words))

    def _bm25(self, collection: str, field: str, text: str, k: int, expr: str = "") -> dict[int, float]:
        if not text or k <= 0:
            return {}
        hits = self._search(collection, [text], field, k, expr=expr, metric="BM25")
        return {pk(h): abs(float(h["distance"])) for h in hits}

    def keyword_sentences(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]:
        expr = self._where(where, "article")
        return {} if expr is None else self._bm25(self.sentences, "sparse", self._query_text(words), k, expr)

    def keyword_articles(self, words: list[str], k: int, where: Filter | None = None) -> dict[int, float]:
        expr = self._where(where, "rowid")
        if expr is None:
            return {}
        text = self._query_text(words)
        wide = min(max(10 * k, 200), MAX_LIMIT)
        body = self._bm25(self.articles, "body_sparse", text, wide, expr)
        title = self._bm25(self.articles, "title_sparse", text, wide, expr)
        total = {r: body.get(r, 0.0) + TITLE_WEIGHT * title.get(r, 0.0) for r in set(body) | set(title)}
        return dict(sorted(total.items(), key=lambda kv: -kv[1])[:k])

    def _article_df(self) -> dict[str, int]:
        """Articles holding each term, written with the generation (kind 2 rows of the docs collection)."""
        if self._df is None:
            rows = self.store.call("query", self.docs, filter="kind == 2", output_fields=["chunk", "content"])
            text = "".join(r["content"] for r in sorted(rows, key=lambda r: int(r["chunk"])))
            self._df = json.loads(text) if text else {}
        return self._df

    def coverage(self, words: list[str], article: int | None) -> tuple[float, float]:
        """As the local store: IDF-weighted share of the terms some article holds, and the top article holds."""
        terms = terms_of(words)
        if not terms:
            return 1.0, 0.0
        df = self._article_df()
        in_article: set[str] = set()
        if article is not None:  # one read of that article's terms
            rows = self.store.call("query", self.articles, filter=f"rowid == {int(article)}", output_fields=["body", "title"])
            held = set(rows[0]["body"].split()) | set(rows[0]["title"].split()) if rows else set()
            in_article = {t for t in terms if t in held}
        return idf_coverage(terms, {t: int(df.get(t, 0)) for t in terms}, in_article, self._article_count)

    def _sentence_rows(self, ids: list[int]) -> dict[int, Row]:
        if not ids:
            return {}
        rows = self.store.call("query", self.sentences, filter=f"id in {ints(ids)}",
                               output_fields=["id", "article", "position", "char_start", "char_end", "text"])
        return {int(r["id"]): r for r in rows}

    def _article_meta(self, rowids: list[int]) -> dict[int, Row]:
        if not rowids:
            return {}
        rows = self.store.call("query", self.articles, filter=f"rowid in {ints(rowids)}", output_fields=["rowid", "meta"])
        return {int(r["rowid"]): json.loads(r["meta"]) for r in rows}

    def hits(self, scored: list[tuple[int, float]]) -> list[Hit]:
        rows = self._sentence_rows([i for i, _ in scored])
        metas = self._article_meta(sorted({int(r["article"]) for r in rows.values()}))
        out = []
        for i, score in scored:
            row = rows.get(i)
            if row is None:
                continue
            meta = metas.get(int(row["article"]), {})
            out.append(Hit(sentence_id=i, score=score, text=row["text"], article_id=meta.get("id", ""),
                           sentence_index=int(row["position"]), char_start=int(row["char_start"]),
                           char_end=int(row["char_end"]), title=meta.get("title"), source=meta.get("source"),
                           url=meta.get("url"), published=meta.get("published"), path=meta.get("path")))
        return out

    def search(self, vector: np.ndarray, k: int) -> list[Hit]:
        ids, scores = self.dense_sentences(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
        return self.hits([(int(i), float(s)) for i, s in zip(ids, scores, strict=True)])

    def texts(self, ids: Iterable[int]) -> dict[int, str]:
        return {i: r["text"] for i, r in self._sentence_rows(list(ids)).items()}

    def article_body(self, article_id: str) -> str | None:
        rows = self.store.call("query", self.articles, filter=f"article_id == {strings([article_id])[1:-1]}",
                               output_fields=["rowid"])
        if not rows:
            return None
        chunks = self.store.call("query", self.docs, filter=f"kind == 1 and rowid == {int(rows[0]['rowid'])}",
                                 output_fields=["chunk", "content"])
        return "".join(c["content"] for c in sorted(chunks, key=lambda c: int(c["chunk"])))

    def close(self) -> None:
        pass


def _dated(meta: str) -> tuple[str | None, str | None]:
    """An article row's (published, source) from its metadata JSON."""
    fields = json.loads(meta)
    return fields.get("published"), fields.get("source")
