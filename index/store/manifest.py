"""What every generation records about itself, in any store: the model and dimension it was built
with, its counts, when it was built, and how it stores its vectors and keywords."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

FORMAT = 3  # 2: FTS5 keyword tables and article vectors; 3: tantivy keyword indexes and the sentence table


@dataclass
class Manifest:
    model: str
    dimension: int
    articles: int
    sentences: int
    built_at: str
    generation: int
    newest_article: str | None
    faiss: str = "IDMap2,Flat,IP"
    keyword: str = "tantivy bm25 (english stemmer)"
    format: int = FORMAT
    extra: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
