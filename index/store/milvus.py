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
fine to millions of sentences; beyond that an in-place scheme would be cheaper (README).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import CitebotError, IndexCorrupt, IndexMismatch, IndexMissing, StoreUnavailable
from citebot.index.ingest.sentences import split_article
from citebot.index.ingest.words import analyzer, terms_of
from citebot.index.records import Article, Hit, Sentence
from citebot.index.store.base import Notify, Progress
from citebot.index.store.generations import Manifest, now_iso
from citebot.index.store.keyword import K1, TITLE_WEIGHT, B, idf_coverage
from citebot.index.store.table import SentenceTable, TableIndex, flags
from citebot.index.store.writer import ChangeReport, plan_changes, writer_lock

# Milvus's BM25 reads fields that already hold citebot's index terms (ingest/words.py: the local
# store's tantivy analysis), separated by spaces; its standard tokenizer only splits them again. So
# both stores rank with BM25 over exactly the same terms and document lengths.
ANALYZER = {"tokenizer": "standard"}
MAX_VARCHAR = 65535
CHUNK_CHARS = 16000  # at most 4 bytes a character: always under MAX_VARCHAR bytes
BATCH = 2000
KEEP_GENERATIONS = 2
BM25_PARAMS = {"bm25_k1": K1, "bm25_b": B}  # the local store's BM25 (tantivy's), for the same ranking
MAX_LIMIT = 16384  # Milvus's largest top-k
INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "HNSW", "DISKANN", "AUTOINDEX")
INDEX_BUILD = {"IVF_FLAT": {"nlist": 1024}, "IVF_SQ8": {"nlist": 1024}, "HNSW": {"M": 16, "efConstruction": 200}}
INDEX_SEARCH = {"IVF_FLAT": {"nprobe": 32}, "IVF_SQ8": {"nprobe": 32}, "HNSW": {"ef": 128}, "DISKANN": {"search_list": 100}}
FORMAT = "milvus-1"
GEN = re.compile(r"_g(\d{6})$")


class MilvusUnavailable(StoreUnavailable):
    pass


def _bytes_prefix(text: str, limit: int = MAX_VARCHAR) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def index_terms(text: str) -> str:
    """The text as the keyword index sees it: its terms separated by spaces (at most 65,535 bytes)."""
    return _bytes_prefix(" ".join(analyzer().analyze(text)))


def _ints(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def _strings(values: Iterable[str]) -> str:
    """A Milvus list literal of strings (JSON string escapes: quotes, backslashes, control characters)."""
    return "[" + ",".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _pk(hit: Any) -> int:
    """A search hit's primary key (``id`` for sentences, ``rowid`` for articles)."""
    return int(hit["rowid"] if "rowid" in hit else hit["id"])


def _chunks(text: str) -> list[str]:
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


class MilvusStore:
    kind = "milvus"

    def __init__(self, workspace: Path, uri: str, token: str | None = None, collection: str = "citebot",
                 index_type: str = "FLAT") -> None:
        if index_type.upper() not in INDEX_TYPES:
            raise CitebotError(f"CITEBOT_MILVUS_INDEX must be one of {', '.join(INDEX_TYPES)}, got {index_type!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", collection):
            raise CitebotError(f"CITEBOT_MILVUS_COLLECTION {collection!r} is not a valid Milvus name (letters, digits, _)")
        self.workspace = Path(workspace)
        self.uri = uri
        self._token = token
        self.alias = collection
        self.index_type = index_type.upper()
        self._client: Any = None
        self._loaded: set[str] = set()

    def __repr__(self) -> str:  # never the token
        return f"MilvusStore(uri={self.uri!r}, collection={self.alias!r})"

    # connection ----------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            # gRPC's own log lines (keepalive GOAWAYs on long writes) would interleave with citebot's output;
            # a user who wants them sets GRPC_VERBOSITY
            os.environ.setdefault("GRPC_VERBOSITY", "NONE")
            from pymilvus import MilvusClient

            # their tracebacks would bury the one message we give (grpc._server: milvus-lite's in-process server logs
            # every call it does not implement, such as pymilvus's AllocTimestamp)
            for name in ("pymilvus", "milvus_lite", "grpc._server"):
                logging.getLogger(name).setLevel(logging.CRITICAL)

            local = "://" not in self.uri
            if local:
                Path(self.uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
            try:
                self._client = MilvusClient(uri=str(Path(self.uri).expanduser()) if local else self.uri,
                                            token=self._token or "", timeout=30)
            except Exception as exc:  # noqa: BLE001 (pymilvus raises many kinds; all mean "cannot use this URI")
                if local and "open local milvus failed" in str(exc).lower():
                    raise MilvusUnavailable(
                        f"cannot open the embedded Milvus file {self.uri}: another process has it open (a running "
                        f"`citebot serve`?). milvus-lite allows one process per file: stop that process, let it do the "
                        f"writing (CITEBOT_WATCH_DIR, CITEBOT_FEEDS), or use a Milvus server (CITEBOT_MILVUS_URI=http://host:19530)"
                    ) from None
                raise self.unavailable(exc) from None
        return self._client

    def unavailable(self, exc: BaseException) -> MilvusUnavailable:
        reason = " ".join(str(getattr(exc, "message", None) or exc).split())
        if self._token:
            reason = reason.replace(self._token, "***")
        return MilvusUnavailable(f"Milvus at {self.uri} is not usable: {reason[:300]} "
                                 f"(check CITEBOT_MILVUS_URI and CITEBOT_MILVUS_TOKEN)")

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A client call whose failure becomes one clear message naming the URI (never the token)."""
        from pymilvus.exceptions import MilvusException

        try:
            return getattr(self.client, method)(*args, **kwargs)
        except MilvusException as exc:
            raise self.unavailable(exc) from None
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise self.unavailable(exc) from None

    def close(self) -> None:
        """Close the connection; for a file, stop the embedded engine (pymilvus runs milvus-lite inside this process
        until then, holding the file), so another process can open it."""
        if self._client is not None:
            self._client.close()
            self._client = None
            self._loaded.clear()
            if "://" not in self.uri:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(str(Path(self.uri).expanduser()))

    # names ---------------------------------------------------------------------------------
    def names(self, number: int) -> tuple[str, str, str]:
        base = f"{self.alias}_g{number:06d}"
        return base, base + "_articles", base + "_docs"

    def live_collection(self) -> str | None:
        aliases = self.call("list_aliases").get("aliases", [])
        if self.alias not in aliases:
            return None
        return str(self.call("describe_alias", self.alias)["collection_name"])

    def _generations(self) -> list[int]:
        numbers = set()
        for name in self.call("list_collections"):
            m = GEN.search(name)
            if m and name.startswith(self.alias + "_g"):
                numbers.add(int(m.group(1)))
        return sorted(numbers)

    # Store interface -----------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        return {"store": self.kind, "location": self.uri, "collection": self.alias}

    def live(self) -> object | None:
        return self.live_collection()

    def status(self) -> dict[str, object] | None:
        live = self.live_collection()
        if live is None:
            return None
        m = self._manifest(live)
        return {"generation": m.generation, "articles": m.articles, "sentences": m.sentences, "model": m.model,
                "dimension": m.dimension, "built_at": m.built_at, "newest_article": m.newest_article}

    def require(self) -> dict[str, object]:
        status = self.status()
        if status is None:
            raise IndexMissing(f"no index in Milvus at {self.uri} (collection alias {self.alias!r}). Build one first:\n"
                               f"  citebot index build PATH...   (with CITEBOT_STORE=milvus)\n"
                               f"or move a local index there: citebot index export --to milvus")
        return status

    def ensure_loaded(self, sentences: str) -> None:
        """Load a generation's collections into memory (Milvus serves only loaded collections; an
        embedded milvus-lite starts each process with them released). Once per store and generation."""
        if sentences in self._loaded:
            return
        for name in (sentences, sentences + "_articles", sentences + "_docs"):
            self.call("load_collection", name)
        self._loaded.add(sentences)

    def _manifest(self, sentences: str) -> Manifest:
        self.ensure_loaded(sentences)
        rows = self.call("query", sentences + "_docs", filter="kind == 0", output_fields=["content"])
        if not rows:
            raise IndexCorrupt(f"Milvus collection {sentences} at {self.uri} has no manifest; rebuild with `citebot index build`")
        try:
            return Manifest.from_dict(json.loads(rows[0]["content"]))
        except (ValueError, TypeError) as exc:
            raise IndexCorrupt(f"Milvus collection {sentences} at {self.uri} has an unreadable manifest ({exc})") from None

    def _article_rows(self, live: str, fields: list[str]) -> Iterator[dict]:
        yield from self.scan(live, "articles", fields)

    def scan(self, live: str, part: str, fields: list[str], expr: str = "") -> Iterator[dict]:
        """Every row of one part ("sentences", "articles", "docs") of the generation ``live``, by key
        ranges up to the manifest's counters (Milvus caps one query's result; no iterator state)."""
        counters = self._manifest(live).extra.get("next", {})
        collection, key, upper, step = {
            "sentences": (live, "id", int(counters.get("sentence", 1)), 2000),
            "articles": (live + "_articles", "rowid", int(counters.get("article", 1)), 200),
            "docs": (live + "_docs", "rowid", int(counters.get("article", 1)), 50),
        }[part]
        for start in range(0, upper, step):
            where = f"{key} >= {start} and {key} < {start + step}" + (f" and ({expr})" if expr else "")
            yield from self.call("query", collection, filter=where, output_fields=fields)

    def articles(self) -> dict[str, str | None]:
        live = self.live_collection()
        if live is None:
            return {}
        return {r["article_id"]: json.loads(r["meta"]).get("path") for r in self._article_rows(live, ["article_id", "meta"])}

    def hashes(self) -> dict[str, str]:
        live = self.live_collection()
        if live is None:
            return {}
        out = {}
        for r in self._article_rows(live, ["article_id", "meta"]):
            meta = json.loads(r["meta"])
            out[meta["hash"]] = meta.get("path") or r["article_id"]
        return out

    def reader(self, model: str | None = None) -> MilvusReader:
        live = self.live_collection()
        if live is None:
            self.require()
        manifest = self._manifest(str(live))
        if model is not None and manifest.model != model:
            raise IndexMismatch(f"Milvus collection {self.alias!r} at {self.uri} was built with model {manifest.model!r} but "
                                f"the model asked for (--model or CITEBOT_MODEL) is {model!r}; rebuild it or use {manifest.model}")
        return MilvusReader(self, str(live), manifest)

    def write(self, embedder: Embedder, upserts: Iterable[Article] = (), removals: Iterable[str] = (), *,
              fresh: bool = False, progress: Progress | None = None, notify: Notify | None = None,
              split: dict[str, list[Sentence]] | None = None) -> ChangeReport:
        """Publish the next generation; ``split`` gives articles' sentences as already cut (an export)."""
        from citebot.index.embed.onnx_encoder import ensure_encoder

        self.workspace.mkdir(parents=True, exist_ok=True)
        lock = writer_lock(self.workspace, notify=notify)
        try:
            report = MilvusWriter(self, embedder, fresh, progress).run(list(upserts), set(removals), split)
            ensure_encoder(embedder, self.workspace, notify)
            return report
        finally:
            lock.release()

    # collections ---------------------------------------------------------------------------
    def create_generation(self, number: int, dimension: int) -> tuple[str, str, str]:
        from pymilvus import DataType, Function, FunctionType

        sentences, articles, docs = self.names(number)
        for name in (sentences, articles, docs):
            if self.call("has_collection", name):
                self.call("drop_collection", name)
        client = self.client
        s = client.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("article", DataType.INT64)
        s.add_field("position", DataType.INT32)
        s.add_field("paragraph", DataType.INT32)
        s.add_field("char_start", DataType.INT32)
        s.add_field("char_end", DataType.INT32)
        s.add_field("flags", DataType.INT32)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ANALYZER)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="text_bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                output_field_names=["sparse"]))
        self.call("create_collection", sentences, schema=s, index_params=self._index_params(["vector"], ["sparse"]))
        a = client.create_schema(auto_id=False, enable_dynamic_field=False)
        a.add_field("rowid", DataType.INT64, is_primary=True)
        a.add_field("article_id", DataType.VARCHAR, max_length=1024)
        a.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        a.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ANALYZER)
        a.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=ANALYZER)
        a.add_field("body_sparse", DataType.SPARSE_FLOAT_VECTOR)
        a.add_field("title_sparse", DataType.SPARSE_FLOAT_VECTOR)
        a.add_field("meta", DataType.VARCHAR, max_length=MAX_VARCHAR)
        a.add_function(Function(name="body_bm25", function_type=FunctionType.BM25, input_field_names=["body"],
                                output_field_names=["body_sparse"]))
        a.add_function(Function(name="title_bm25", function_type=FunctionType.BM25, input_field_names=["title"],
                                output_field_names=["title_sparse"]))
        self.call("create_collection", articles, schema=a,
                  index_params=self._index_params(["vector"], ["body_sparse", "title_sparse"]))
        d = client.create_schema(auto_id=False, enable_dynamic_field=False)
        d.add_field("id", DataType.INT64, is_primary=True)
        d.add_field("kind", DataType.INT32)  # 0: the manifest, 1: a chunk of an article's text, 2: of the term frequencies
        d.add_field("rowid", DataType.INT64)
        d.add_field("chunk", DataType.INT32)
        d.add_field("content", DataType.VARCHAR, max_length=MAX_VARCHAR)
        d.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        self.call("create_collection", docs, schema=d, index_params=self._index_params(["unused"], []))
        return sentences, articles, docs

    def _index_params(self, dense: list[str], sparse: list[str]) -> Any:
        params = self.client.prepare_index_params()
        for name in dense:
            kind = self.index_type if name == "vector" else "FLAT"
            params.add_index(name, index_type=kind, metric_type="IP", params=INDEX_BUILD.get(kind, {}))
        for name in sparse:
            # k1 and b as the local store's tantivy uses them (milvus-lite defaults k1 to 1.5); nested under
            # "params", the form both milvus-lite and Milvus servers read (milvus-lite ignores flattened keys)
            params.add_index(name, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"params": BM25_PARAMS})
        return params

    def publish(self, number: int) -> None:
        sentences, _, _ = self.names(number)
        if self.live_collection() is None:
            self.call("create_alias", sentences, self.alias)
        else:
            self.call("alter_alias", sentences, self.alias)

    def prune(self, live: int) -> None:
        """Drop generations older than the previous one, and leftovers of killed writers (newer than live)."""
        for number in self._generations():
            if number > live or number < live - (KEEP_GENERATIONS - 1):
                for name in self.names(number):
                    if self.call("has_collection", name):
                        self.call("drop_collection", name)


class MilvusWriter:
    """Builds the next generation from the live one plus the changes, then publishes it."""

    def __init__(self, store: MilvusStore, embedder: Embedder, fresh: bool, progress: Progress | None) -> None:
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
        old_manifest = store._manifest(live) if live else None
        if old_manifest and old_manifest.dimension != self.embedder.dimension:
            raise IndexMismatch(f"Milvus collection {store.alias!r} at {store.uri} holds {old_manifest.dimension}-dimensional "
                                f"vectors but the model gives {self.embedder.dimension}; rebuild it with `citebot index build`")
        if old_manifest and old_manifest.model != self.embedder.name:
            raise IndexMismatch(f"Milvus collection {store.alias!r} at {store.uri} was built with model {old_manifest.model!r}, "
                                f"not {self.embedder.name!r}; rebuild it with `citebot index build` or use {old_manifest.model}")
        stored = {r["article_id"]: {**json.loads(r["meta"]), "rowid": int(r["rowid"])}
                  for r in store._article_rows(live, ["rowid", "article_id", "meta"])} if live else {}
        doomed, todo, refreshed = self._plan(stored, upserts, removals)
        if live and not todo and not doomed and not refreshed:
            self.report.generation = old_manifest.generation  # type: ignore[union-attr]
            self.report.articles_total, self.report.sentences_total = old_manifest.articles, old_manifest.sentences  # type: ignore[union-attr]
            self.report.seconds = time.perf_counter() - started
            return self.report  # nothing changed: no new generation
        number = max([*store._generations(), old_manifest.generation if old_manifest else 0]) + 1
        serving = GEN.search(current) if current else None
        store.prune(int(serving.group(1)) if serving else 0)  # leftovers of killed writers go first, never the live one
        names = store.create_generation(number, self.embedder.dimension)
        counters = dict(old_manifest.extra.get("next", {})) if old_manifest else {}  # type: ignore[union-attr]
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
        frequencies = _chunks(json.dumps(dict(self.article_df), separators=(",", ":")))
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

    def _plan(self, stored: dict[str, dict], upserts: list[Article],
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

    def _copy(self, live: str, names: tuple[str, str, str], kept: dict[str, dict], refreshed: dict[str, Article]) -> None:
        """Unchanged articles, their sentences (vectors included) and texts into the new generation."""
        store = self.store
        rowids = sorted(int(m["rowid"]) for m in kept.values())
        wanted = set(rowids)
        sentence_fields = ["id", "article", "position", "paragraph", "char_start", "char_end", "flags", "vector", "text", "terms"]
        self._insert_all(names[0], (r for r in store.scan(live, "sentences", sentence_fields) if int(r["article"]) in wanted))
        article_fields = ["rowid", "article_id", "vector", "body", "title", "meta"]

        def articles() -> Iterable[dict]:
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

    def _insert_all(self, collection: str, rows: Iterable[dict], size: int = BATCH) -> None:
        batch: list[dict] = []
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
            rows = self.store.call("query", live, filter=f"text in {_strings(part)}", output_fields=["text", "vector"])
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

        encoded = self.embedder.encode(fresh_texts, progress=step) if fresh_texts else []
        lookup = dict(reusable)
        lookup.update(zip(fresh_texts, encoded, strict=True))  # rows of one array: no copy per vector
        self.report.sentences_embedded += len(fresh_texts)
        self.report.sentences_reused += len(sentences) - len(fresh_texts)
        batches: dict[int, list[dict]] = {0: [], 1: [], 2: []}  # rows go to Milvus as they fill, not all at the end

        def add(part: int, row: dict, size: int = BATCH) -> None:
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
            for n, chunk in enumerate(_chunks(article.body)):
                add(2, {"id": rowid * 100000 + n + 1, "kind": 1, "rowid": rowid, "chunk": n, "content": chunk,
                        "unused": [0.0, 0.0]}, 200)
        for part, rows in batches.items():
            if rows:
                self.store.call("insert", names[part], rows)
        return next_sentence, next_rowid


class MilvusReader:
    """One generation in Milvus, pinned by collection name; the sentence table is loaded into memory."""

    def __init__(self, store: MilvusStore, sentences: str, manifest: Manifest) -> None:
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
        self.table = TableIndex(table)
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
        return len(self.table.table)

    def _search(self, collection: str, data: list, field: str, k: int, expr: str = "", metric: str = "IP",
                fields: list[str] | None = None) -> list[dict]:
        if k <= 0:
            return []
        params = {"metric_type": metric}
        if field == "vector" and collection == self.sentences:
            params["params"] = INDEX_SEARCH.get(self.store.index_type, {})  # type: ignore[assignment]
        found = self.store.call("search", collection, data=data, anns_field=field, limit=min(k, MAX_LIMIT), filter=expr,
                                search_params=params, output_fields=fields or [])
        return list(found[0]) if found else []

    def dense_sentences(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self._search(self.sentences, [query[0].astype(np.float32).tolist()], "vector", min(k, self.sentence_count()))
        return (np.asarray([int(h["id"]) for h in hits], dtype=np.int64),
                np.asarray([float(h["distance"]) for h in hits], dtype=np.float32))

    def dense_articles(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        hits = self._search(self.articles, [query[0].astype(np.float32).tolist()], "vector", min(k, self._article_count))
        return (np.asarray([_pk(h) for h in hits], dtype=np.int64),
                np.asarray([float(h["distance"]) for h in hits], dtype=np.float32))

    def _vectors(self, collection: str, key: str, ids: np.ndarray) -> np.ndarray:
        wanted = [int(i) for i in ids]
        if not wanted:
            return np.zeros((0, self._manifest.dimension), np.float32)
        rows = self.store.call("query", collection, filter=f"{key} in {_ints(wanted)}", output_fields=[key, "vector"])
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
        return {_pk(h): abs(float(h["distance"])) for h in hits}

    def keyword_sentences(self, words: list[str], k: int) -> dict[int, float]:
        return self._bm25(self.sentences, "sparse", self._query_text(words), k)

    def keyword_articles(self, words: list[str], k: int) -> dict[int, float]:
        text = self._query_text(words)
        wide = min(max(10 * k, 200), MAX_LIMIT)
        body = self._bm25(self.articles, "body_sparse", text, wide)
        title = self._bm25(self.articles, "title_sparse", text, wide)
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

    def _sentence_rows(self, ids: list[int]) -> dict[int, dict]:
        if not ids:
            return {}
        rows = self.store.call("query", self.sentences, filter=f"id in {_ints(ids)}",
                               output_fields=["id", "article", "position", "char_start", "char_end", "text"])
        return {int(r["id"]): r for r in rows}

    def _article_meta(self, rowids: list[int]) -> dict[int, dict]:
        if not rowids:
            return {}
        rows = self.store.call("query", self.articles, filter=f"rowid in {_ints(rowids)}", output_fields=["rowid", "meta"])
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

    def contexts(self, sentence_ids: list[int]) -> list[tuple[str | None, str | None]]:
        return self.table.contexts(sentence_ids, self.texts)

    def article_body(self, article_id: str) -> str | None:
        rows = self.store.call("query", self.articles, filter=f"article_id == {_strings([article_id])[1:-1]}",
                               output_fields=["rowid"])
        if not rows:
            return None
        chunks = self.store.call("query", self.docs, filter=f"kind == 1 and rowid == {int(rows[0]['rowid'])}",
                                 output_fields=["chunk", "content"])
        return "".join(c["content"] for c in sorted(chunks, key=lambda c: int(c["chunk"])))

    def close(self) -> None:
        pass
