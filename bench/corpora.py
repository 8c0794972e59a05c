"""Corpora for the benchmarks: the project's samples, ../shared/seeds, or the SQuAD half."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.records import Article

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def model_cache() -> Path:
    """The model cache the CLI uses here (CITEBOT_CACHE_DIR, else the user's)."""
    from citebot.bot.config import Settings

    return Settings.from_env().cache_dir
SQUAD = SHARED / "eval" / "squad-v1.1-dev-a.json"
SQUAD_TRAIN = SHARED / "eval" / "squad-v2.0-train-10.json"


def squad_articles(path: Path = SQUAD, limit: int | None = None) -> list[Article]:
    """Every SQuAD paragraph as one article, id ``<title>/<n>``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for doc in data["data"]:
        for n, paragraph in enumerate(doc["paragraphs"]):
            out.append(make_article(paragraph["context"], None, id=f"{doc['title']}/{n}", title=doc["title"]))
            if limit and len(out) >= limit:
                return out
    return out


def paragraph_number(article_id: str) -> int:
    """The paragraph's position in its SQuAD article, from the id ``squad_articles`` gives it."""
    return int(article_id.rsplit("/", 1)[1])


def corpus(name: str, limit: int | None = None) -> list[Article]:
    if name == "squad":
        if not SQUAD.is_file():
            sys.exit(f"{SQUAD} is not present")
        return squad_articles(limit=limit)
    path = ROOT / "examples" / "articles" if name == "samples" else SHARED / "seeds"
    if not path.is_dir():
        sys.exit(f"{path} is not present")
    return load([path])[0]
