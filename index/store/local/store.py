"""The local store: generations of FAISS + tantivy + SQLite in one directory (store/generations.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import IndexMissing
from citebot.index.records import Article, Sentence
from citebot.index.store.base import Notify, Progress, Status
from citebot.index.store.local.generations import connect, current_generation, opening
from citebot.index.store.local.reader import IndexReader, index_status, missing_message

if TYPE_CHECKING:  # the writer (sentence splitting, cleaning) is imported when writing: `ask` starts without it
    from citebot.index.store.changes import ChangeReport


class LocalStore:
    kind = "local"

    def __init__(self, directory: Path) -> None:
        self.workspace = Path(directory)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.workspace)!r})"

    def describe(self) -> dict[str, object]:
        return {"store": self.kind, "location": str(self.workspace)}

    def status(self) -> Status | None:
        return index_status(self.workspace)

    def live(self) -> object | None:
        return current_generation(self.workspace)

    def _select(self, sql: str) -> list[sqlite3.Row]:
        generation = current_generation(self.workspace)
        if generation is None:
            return []
        with opening(generation / "meta.sqlite"):
            if not (generation / "meta.sqlite").is_file():
                raise FileNotFoundError(generation / "meta.sqlite")
            db = connect(generation / "meta.sqlite", readonly=True)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()

    def articles(self) -> dict[str, str | None]:
        return {row["id"]: row["path"] for row in self._select("SELECT id, path FROM articles")}

    def hashes(self) -> dict[str, str]:
        return {row["hash"]: row["path"] or row["id"] for row in self._select("SELECT hash, path, id FROM articles")}

    def write(self, embedder: Embedder, upserts: Iterable[Article] = (), removals: Iterable[str] = (), *,
              fresh: bool = False, progress: Progress | None = None, notify: Notify | None = None,
              split: dict[str, list[Sentence]] | None = None) -> ChangeReport:
        from citebot.index.store.local.writer import write

        return write(self.workspace, embedder, upserts, removals, fresh=fresh, progress=progress, notify=notify, split=split)

    def reader(self, model: str | None = None) -> IndexReader:
        return IndexReader.open(self.workspace, model=model)

    def require(self) -> Status:
        """The live generation's figures, or IndexMissing with what to do."""
        status = self.status()
        if status is None:
            raise IndexMissing(missing_message(self.workspace))
        return status
