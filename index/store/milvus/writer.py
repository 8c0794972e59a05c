"""Writing a Milvus generation: unchanged articles copied with their vectors, new ones split and
embedded (a sentence whose exact text already has a vector reuses it), then published by the store."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from typing import cast

import numpy as np

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import IndexMismatch
from citebot.index.ingest.answer_types import flags
from citebot.index.ingest.sentences import split_article
from citebot.index.records import Article, Sentence
from citebot.index.store.base import Progress
from citebot.index.store.changes import ChangeReport, plan_changes
from citebot.index.store.manifest import Manifest, now_iso
from citebot.index.store.milvus.client import BATCH, FORMAT, GEN, Row, chunks, index_terms, strings
from citebot.index.store.milvus.collections import Collections


class MilvusWriter:
    """Builds the next generation from the live one plus the changes, then publishes it."""

    def __init__(self, store: Collections, embedder: Embedder, fresh: bool, progress: Progress | None) -> None:
        self.store = store
        self.embedder = embedder
        self.fresh = fresh
        self.progress = progress
        self.report = ChangeReport()
        self.article_df: Counter[str] = Counter()

    def run(self, upserts: list[Article], removals: set[str], given: dict[str, list[Sentence]] | None = None) -> ChangeReport:
        import time

        started = time.perf_counter()
        store = self.store
        current = store.live_collection()  # what readers see: kept until this writer publishes, a fresh build too
        live = None if self.fresh else current
        old_manifest = store.manifest(live) if live else None
        if old_manifest and old_manifest.dimension != self.embedder.dimension:
            raise IndexMismatch(f"Milvus collection {store.alias!r} at {store.uri} holds {old_manifest.dimension}-dimensional "
                                f"vectors but the model gives {self.embedder.dimension}; rebuild it with `citebot index build`")
        if old_manifest and old_manifest.model != self.embedder.name:
            raise IndexMismatch(f"Milvus collection {store.alias!r} at {store.uri} was built with model {old_manifest.model!r}, "
                                f"not {self.embedder.name!r}; rebuild it with `citebot index build` or use {old_manifest.model}")
        stored = {r["article_id"]: {**json.loads(r["meta"]), "rowid": int(r["rowid"])}
                  for r in store.article_rows(live, ["rowid", "article_id", "meta"])} if live else {}
        doomed, todo, refreshed = self._plan(stored, upserts, removals)
        if live and not todo and not doomed and not refreshed:
            assert old_manifest is not None  # a live generation has a manifest (read above)
            self.report.generation = old_manifest.generation
            self.report.articles_total, self.report.sentences_total = old_manifest.articles, old_manifest.sentences
            self.report.seconds = time.perf_counter() - started
            return self.report  # nothing changed: no new generation
        number = max([*store.generations(), old_manifest.generation if old_manifest else 0]) + 1
        serving = GEN.search(current) if current else None
        store.prune(int(serving.group(1)) if serving else 0)  # leftovers of killed writers go first, never the live one
        names = store.create_generation(number, self.embedder.dimension)
        counters = dict(cast(dict[str, int], old_manifest.extra.get("next", {}))) if old_manifest else {}
        next_sentence, next_rowid = int(counters.get("sentence", 1)), int(counters.get("article", 1))
        kept = {i: m for i, m in stored.items() if i not in doomed}
        if live:
            self._copy(live, names, kept, refreshed)
        split = {a.id: given[a.id] if given is not None else split_article(a) for a in todo}
        reusable = self._reusable(live, split) if live else {}
        next_sentence, next_rowid = self._insert(names, todo, split, reusable, next_sentence, next_rowid)
        articles_total = len(kept) + len(todo)
        sentences_total = int(self.store.call("query", names[0], filter="id >= 0", output_fields=["count(*)"])[0]["count(*)"])
        newest = max([m.get("published") or "" for m in kept.values()] + [a.published or "" for a in todo], default="") or None
        manifest = Manifest(model=self.embedder.name, dimension=self.embedder.dimension, articles=articles_total,
                            sentences=sentences_total, built_at=now_iso(), generation=number, newest_article=newest,
                            faiss=f"milvus {store.index_type} IP", keyword="milvus bm25 (standard tokenizer, english stemmer)",
                            format=0, extra={"store": FORMAT, "next": {"sentence": next_sentence, "article": next_rowid}})
        store.call("insert", names[2], [{"id": 0, "kind": 0, "rowid": 0, "chunk": 0,
                                         "content": json.dumps(asdict(manifest)), "unused": [0.0, 0.0]}])
        # how many articles hold each term, for the confidence's coverage signal (kind 2 rows, JSON in chunks)
        frequencies = chunks(json.dumps(dict(self.article_df), separators=(",", ":")))
        self._insert_all(names[2], ({"id": n + 1, "kind": 2, "rowid": 0, "chunk": n, "content": c, "unused": [0.0, 0.0]}
                                    for n, c in enumerate(frequencies)))
        for name in names:
            store.call("flush", name)
            store.call("load_collection", name)
        store.publish(number)
        store.prune(number)
        self.report.generation = number
        self.report.published = True
        self.report.articles_total, self.report.sentences_total = articles_total, sentences_total
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _plan(self, stored: dict[str, Row], upserts: list[Article],
              removals: set[str]) -> tuple[set[str], list[Article], dict[str, Article]]:
        """The local writer's rules (plan_changes); unchanged articles with new metadata are refreshed."""
        by_path: dict[str, list[str]] = {}
        for article_id, meta in stored.items():
            if meta.get("derived") and meta.get("path"):
                by_path.setdefault(meta["path"], []).append(article_id)

        def same_file(article: Article) -> str | None:
            found = by_path.get(article.path or "", [])
            return found[0] if article.path and article.id_is_derived and len(found) == 1 else None

        doomed, todo, unchanged = plan_changes(upserts, removals, lambda i: stored[i]["hash"] if i in stored else None,
                                               same_file, self.report)
        fields = ("title", "source", "url", "published", "path")
        refreshed = {a.id: a for a in unchanged if any(stored[a.id].get(f) != getattr(a, f) for f in fields)}
        return doomed, todo, refreshed

    def _copy(self, live: str, names: tuple[str, str, str], kept: dict[str, Row], refreshed: dict[str, Article]) -> None:
        """Unchanged articles, their sentences (vectors included) and texts into the new generation."""
        store = self.store
        rowids = sorted(int(m["rowid"]) for m in kept.values())
        wanted = set(rowids)
        sentence_fields = ["id", "article", "position", "paragraph", "char_start", "char_end", "flags", "vector", "text", "terms"]
        self._insert_all(names[0], (r for r in store.scan(live, "sentences", sentence_fields) if int(r["article"]) in wanted))
        article_fields = ["rowid", "article_id", "vector", "body", "title", "meta"]

        def articles() -> Iterable[Row]:
            for r in store.scan(live, "articles", article_fields):
                if int(r["rowid"]) not in wanted:
                    continue
                self.article_df.update(set(r["body"].split()) | set(r["title"].split()))
                if r["article_id"] in refreshed:
                    a = refreshed[r["article_id"]]
                    meta = {**json.loads(r["meta"]), "title": a.title, "source": a.source, "url": a.url,
                            "published": a.published, "path": a.path}
                    r = {**r, "meta": json.dumps(meta), "title": index_terms(a.title or "")}
                yield r

        self._insert_all(names[1], articles(), 200)
        doc_fields = ["id", "kind", "rowid", "chunk", "content", "unused"]
        self._insert_all(names[2], (r for r in store.scan(live, "docs", doc_fields, "kind == 1") if int(r["rowid"]) in wanted), 200)

    def _insert_all(self, collection: str, rows: Iterable[Row], size: int = BATCH) -> None:
        batch: list[Row] = []
        for row in rows:
            batch.append({k: (list(map(float, v)) if k in ("vector", "unused") else v) for k, v in row.items()})
            if len(batch) >= size:
                self.store.call("insert", collection, batch)
                batch = []
        if batch:
            self.store.call("insert", collection, batch)

    def _reusable(self, live: str, split: dict[str, list[Sentence]]) -> dict[str, np.ndarray]:
        """Vectors already stored for identical sentence text."""
        texts = sorted({s.text for group in split.values() for s in group})
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(texts), 200):
            part = texts[i:i + 200]
            rows = self.store.call("query", live, filter=f"text in {strings(part)}", output_fields=["text", "vector"])
            for r in rows:
                found.setdefault(r["text"], np.asarray(r["vector"], dtype=np.float32))
        return found

    def _insert(self, names: tuple[str, str, str], todo: list[Article], split: dict[str, list[Sentence]],
                reusable: dict[str, np.ndarray], next_sentence: int, next_rowid: int) -> tuple[int, int]:
        sentences = [s for a in todo for s in split[a.id]]
        fresh_texts = sorted({s.text for s in sentences if s.text not in reusable}, key=len)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress(done, len(fresh_texts))

        encoded: np.ndarray | list[np.ndarray] = self.embedder.encode(fresh_texts, progress=step) if fresh_texts else []
        lookup = dict(reusable)
        lookup.update(zip(fresh_texts, encoded, strict=True))  # rows of one array: no copy per vector
        self.report.sentences_embedded += len(fresh_texts)
        self.report.sentences_reused += len(sentences) - len(fresh_texts)
        batches: dict[int, list[Row]] = {0: [], 1: [], 2: []}  # rows go to Milvus as they fill, not all at the end

        def add(part: int, row: Row, size: int = BATCH) -> None:
            batches[part].append(row)
            if len(batches[part]) >= size:
                self.store.call("insert", names[part], batches[part])
                batches[part] = []

        added_at = now_iso()
        dim = self.embedder.dimension
        for article in todo:
            rowid = next_rowid
            next_rowid += 1
            mine = split[article.id]
            for s in mine:
                add(0, {"id": next_sentence, "article": rowid, "position": s.index, "paragraph": s.paragraph,
                        "char_start": s.char_start, "char_end": s.char_end, "flags": flags(s.text),
                        "vector": lookup[s.text].astype(np.float32).tolist(), "text": s.text, "terms": index_terms(s.text)})
                next_sentence += 1
            mean = np.mean([lookup[s.text] for s in mine], axis=0) if mine else np.zeros(dim)
            mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
            meta = {"id": article.id, "title": article.title, "source": article.source, "url": article.url,
                    "published": article.published, "path": article.path, "hash": article.hash,
                    "derived": article.id_is_derived, "added_at": added_at}
            body, title = index_terms(article.body), index_terms(article.title or "")
            self.article_df.update(set(body.split()) | set(title.split()))
            add(1, {"rowid": rowid, "article_id": article.id, "vector": mean.astype(np.float32).tolist(), "body": body,
                    "title": title, "meta": json.dumps(meta)}, 200)
            for n, chunk in enumerate(chunks(article.body)):
                add(2, {"id": rowid * 100000 + n + 1, "kind": 1, "rowid": rowid, "chunk": n, "content": chunk,
                        "unused": [0.0, 0.0]}, 200)
        for part, rows in batches.items():
            if rows:
                self.store.call("insert", names[part], rows)
        return next_sentence, next_rowid


