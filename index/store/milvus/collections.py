"""Milvus collections of one index: the connection, and each generation's three collections (created,
published behind the alias, pruned, read by key ranges)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from citebot.index.errors import CitebotError, IndexCorrupt
from citebot.index.store.manifest import Manifest
from citebot.index.store.milvus.client import (
    ANALYZER,
    BM25_PARAMS,
    GEN,
    INDEX_BUILD,
    INDEX_TYPES,
    KEEP_GENERATIONS,
    MAX_VARCHAR,
    MilvusUnavailable,
    Row,
)


class Collections:
    """A connection to Milvus and the generations of one index in it: names, the live one (the alias),
    creating, publishing and pruning them, and reading their rows by key ranges."""


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
        return f"{type(self).__name__}(uri={self.uri!r}, collection={self.alias!r})"

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

    def generations(self) -> list[int]:
        numbers = set()
        for name in self.call("list_collections"):
            m = GEN.search(name)
            if m and name.startswith(self.alias + "_g"):
                numbers.add(int(m.group(1)))
        return sorted(numbers)

    def ensure_loaded(self, sentences: str) -> None:
        """Load a generation's collections into memory (Milvus serves only loaded collections; an
        embedded milvus-lite starts each process with them released). Once per store and generation."""
        if sentences in self._loaded:
            return
        for name in (sentences, sentences + "_articles", sentences + "_docs"):
            self.call("load_collection", name)
        self._loaded.add(sentences)

    def manifest(self, sentences: str) -> Manifest:
        self.ensure_loaded(sentences)
        rows = self.call("query", sentences + "_docs", filter="kind == 0", output_fields=["content"])
        if not rows:
            raise IndexCorrupt(f"Milvus collection {sentences} at {self.uri} has no manifest; rebuild with `citebot index build`")
        try:
            return Manifest.from_dict(json.loads(rows[0]["content"]))
        except (ValueError, TypeError) as exc:
            raise IndexCorrupt(f"Milvus collection {sentences} at {self.uri} has an unreadable manifest ({exc})") from None

    def article_rows(self, live: str, fields: list[str]) -> Iterator[Row]:
        yield from self.scan(live, "articles", fields)

    def scan(self, live: str, part: str, fields: list[str], expr: str = "") -> Iterator[Row]:
        """Every row of one part ("sentences", "articles", "docs") of the generation ``live``, by key
        ranges up to the manifest's counters (Milvus caps one query's result; no iterator state)."""
        counters = cast(dict[str, int], self.manifest(live).extra.get("next", {}))
        collection, key, upper, step = {
            "sentences": (live, "id", int(counters.get("sentence", 1)), 2000),
            "articles": (live + "_articles", "rowid", int(counters.get("article", 1)), 200),
            "docs": (live + "_docs", "rowid", int(counters.get("article", 1)), 50),
        }[part]
        for start in range(0, upper, step):
            where = f"{key} >= {start} and {key} < {start + step}" + (f" and ({expr})" if expr else "")
            yield from self.call("query", collection, filter=where, output_fields=fields)

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
        for number in self.generations():
            if number > live or number < live - (KEEP_GENERATIONS - 1):
                for name in self.names(number):
                    if self.call("has_collection", name):
                        self.call("drop_collection", name)
