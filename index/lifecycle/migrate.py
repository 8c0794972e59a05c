"""Move an index between stores (``citebot index export --to milvus``): articles, their sentences
as cut and their vectors are copied; nothing is re-embedded."""

from __future__ import annotations

import numpy as np

from citebot.index.embed.embedders import Progress as EncodeProgress
from citebot.index.errors import CitebotError
from citebot.index.records import Article, Sentence
from citebot.index.store.base import Notify, Progress, Store
from citebot.index.store.changes import ChangeReport
from citebot.index.store.local.store import LocalStore


class StoredVectors:
    """An 'embedder' that answers with the vectors a store already holds for each sentence text."""

    def __init__(self, name: str, dimension: int, vectors: dict[str, np.ndarray]) -> None:
        self.name = name
        self.dimension = dimension
        self.vectors = vectors
        self.encoded = 0

    def encode(self, texts: list[str], progress: EncodeProgress | None = None) -> np.ndarray:
        missing = [t for t in texts if t not in self.vectors]
        if missing:
            raise CitebotError(f"export: {len(missing)} sentence(s) have no stored vector (e.g. {missing[0][:60]!r}); "
                               f"the source index is damaged, rebuild it")
        if progress:
            progress(len(texts))
        return np.vstack([self.vectors[t] for t in texts]).astype(np.float32) if texts else np.zeros((0, self.dimension), np.float32)


def local_contents(source: LocalStore) -> tuple[list[Article], dict[str, list[Sentence]], StoredVectors]:
    """Every article of the live local generation, its sentences as stored, and their vectors."""
    status = source.require()
    reader = source.reader()
    try:
        with reader.lock:
            rows = reader.db.execute("SELECT id, title, source, url, published, path, body FROM articles ORDER BY rowid").fetchall()
            sentences = reader.db.execute("SELECT id, article_id, idx, paragraph, char_start, char_end, text FROM sentences "
                                          "ORDER BY id").fetchall()
        articles = [Article(id=r["id"], body=r["body"], title=r["title"], source=r["source"], url=r["url"],
                            published=r["published"], path=r["path"]) for r in rows]
        split: dict[str, list[Sentence]] = {a.id: [] for a in articles}
        vectors: dict[str, np.ndarray] = {}
        ids = np.asarray([int(s["id"]) for s in sentences], dtype=np.int64)
        matrix = reader.sentence_vectors(ids) if len(ids) else np.zeros((0, int(status["dimension"])), np.float32)
        for s, vector in zip(sentences, matrix, strict=True):
            split[s["article_id"]].append(Sentence(s["article_id"], int(s["idx"]), int(s["paragraph"]), int(s["char_start"]),
                                                   int(s["char_end"]), s["text"]))
            vectors.setdefault(s["text"], vector)
    finally:
        reader.close()
    return articles, split, StoredVectors(str(status["model"]), int(status["dimension"]), vectors)


def export_store(source: Store, target: Store, notify: Notify | None = None, progress: Progress | None = None) -> ChangeReport:
    """Publish the source's live generation as a fresh generation of ``target``."""
    if not isinstance(source, LocalStore):
        raise CitebotError("export reads a local index (CITEBOT_INDEX_DIR)")
    articles, split, vectors = local_contents(source)
    if notify:
        notify(f"exporting {len(articles)} articles from {source.workspace} to {target.describe()['location']}")
    return target.write(vectors, articles, fresh=True, progress=progress, notify=notify, split=split)
