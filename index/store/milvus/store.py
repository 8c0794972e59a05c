"""The Milvus store: the same index in Milvus, embedded (milvus-lite, a file path) or a cluster (a URI).

One generation is three collections, ``<name>_gNNNNNN`` (sentences), ``..._articles`` and
``..._docs``; the alias ``<name>`` points at the live generation's sentences collection. A writer
builds the next generation's collections completely, then ``alter_alias`` switches readers at once,
so a killed writer never leaves a half-written index in front of a reader; the next writer drops
its leftovers. Readers pin the collections they opened, so a question never mixes generations.

What Milvus does itself (nothing re-implemented on the client):
- dense vectors with exact inner-product search (FLAT) by default, or another index type for a
  cluster (``index_type``); sentence and article vectors live in their own collections;
- BM25 full-text search: a BM25 ``Function`` over an analysed ``text`` field (sentences) and over
  ``body`` and ``title`` (articles), analysed as the local store's tantivy index is (standard
  tokenizer, lowercase, ASCII folding, English stemmer, tokens over 40 characters dropped);
- scalar fields for a sentence's article, position, offsets and answer-type flags.
The whole-article text and the manifest live in ``..._docs`` (chunks, since a VARCHAR holds at
most 65,535 bytes; the article ``body`` field holds the first 65,535 bytes for BM25).

Unchanged articles are copied (vectors included) into the next generation, never re-embedded;
a sentence whose exact text already has a vector reuses it. Each write copies the collection:
fine to millions of sentences; beyond that an in-place scheme would be cheaper (docs/stores.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import IndexMismatch, IndexMissing
from citebot.index.records import Article, Sentence
from citebot.index.store.base import Notify, Progress, Status
from citebot.index.store.changes import ChangeReport, writer_lock
from citebot.index.store.milvus.collections import Collections
from citebot.index.store.milvus.reader import MilvusReader
from citebot.index.store.milvus.writer import MilvusWriter


class MilvusStore(Collections):
    """The Store interface on Milvus (see the module's docstring)."""

    kind = "milvus"

    # Store interface -----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        return {"store": self.kind, "location": self.uri, "collection": self.alias}

    def live(self) -> object | None:
        return self.live_collection()

    def status(self) -> Status | None:
        live = self.live_collection()
        if live is None:
            return None
        m = self.manifest(live)
        return {"generation": m.generation, "articles": m.articles, "sentences": m.sentences, "model": m.model,
                "dimension": m.dimension, "built_at": m.built_at, "newest_article": m.newest_article}

    def require(self) -> Status:
        status = self.status()
        if status is None:
            raise IndexMissing(f"no index in Milvus at {self.uri} (collection alias {self.alias!r}). Build one first:\n"
                               f"  citebot index build PATH...   (with CITEBOT_STORE=milvus)\n"
                               f"or move a local index there: citebot index export --to milvus")
        return status

    def articles(self) -> dict[str, str | None]:
        live = self.live_collection()
        if live is None:
            return {}
        return {r["article_id"]: json.loads(r["meta"]).get("path") for r in self.article_rows(live, ["article_id", "meta"])}

    def hashes(self) -> dict[str, str]:
        live = self.live_collection()
        if live is None:
            return {}
        out = {}
        for r in self.article_rows(live, ["article_id", "meta"]):
            meta = json.loads(r["meta"])
            out[meta["hash"]] = meta.get("path") or r["article_id"]
        return out

    def reader(self, model: str | None = None) -> MilvusReader:
        live = self.live_collection()
        if live is None:
            self.require()
        manifest = self.manifest(str(live))
        if model is not None and manifest.model != model:
            raise IndexMismatch(f"Milvus collection {self.alias!r} at {self.uri} was built with model {manifest.model!r} but "
                                f"the model asked for (--model or CITEBOT_MODEL) is {model!r}; rebuild it or use {manifest.model}")
        return MilvusReader(self, str(live), manifest)

    def write(self, embedder: Embedder, upserts: Iterable[Article] = (), removals: Iterable[str] = (), *,
              fresh: bool = False, progress: Progress | None = None, notify: Notify | None = None,
              split: dict[str, list[Sentence]] | None = None) -> ChangeReport:
        """Publish the next generation; ``split`` gives articles' sentences as already cut (an export)."""
        self.workspace.mkdir(parents=True, exist_ok=True)
        lock = writer_lock(self.workspace, notify=notify)
        try:
            return MilvusWriter(self, embedder, fresh, progress).run(list(upserts), set(removals), split)
        finally:
            lock.release()
