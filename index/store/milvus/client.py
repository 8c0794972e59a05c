"""What the Milvus store's parts share: the collections' limits and index settings, the error that
says Milvus cannot be reached, and the helpers that write Milvus expressions and fields."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from citebot.index.errors import StoreUnavailable
from citebot.index.ingest.words import analyzer
from citebot.index.store.bm25 import K1, B

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


Row = dict[str, Any]  # a Milvus row or search hit, field name -> value


class MilvusUnavailable(StoreUnavailable):
    pass


def bytes_prefix(text: str, limit: int = MAX_VARCHAR) -> str:
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def index_terms(text: str) -> str:
    """The text as the keyword index sees it: its terms separated by spaces (at most 65,535 bytes)."""
    return bytes_prefix(" ".join(analyzer().analyze(text)))


def ints(values: Iterable[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def strings(values: Iterable[str]) -> str:
    """A Milvus list literal of strings (JSON string escapes: quotes, backslashes, control characters)."""
    return "[" + ",".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def pk(hit: Any) -> int:
    """A search hit's primary key (``id`` for sentences, ``rowid`` for articles)."""
    return int(hit["rowid"] if "rowid" in hit else hit["id"])


def chunks(text: str) -> list[str]:
    return [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


