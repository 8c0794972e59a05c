"""Keep an index in step with files: remove by id or path, mirror a folder, apply changes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index.embedders import Embedder, IndexModel
from index.errors import IndexMissing
from index.ingest import SUPPORTED, load
from index.reader import index_status, missing_message
from index.records import Article, Skipped
from index.store import connect, current_generation, opening
from index.urls import is_url
from index.writer import ChangeReport, write


@dataclass
class SyncReport:
    change: ChangeReport
    skipped: list[Skipped] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # removal targets that matched nothing

    def summary(self) -> str:
        c = self.change
        line = (f"added {len(c.added)}, updated {len(c.updated)}, removed {len(c.removed)}, "
                f"unchanged {len(c.unchanged)}, skipped {len(self.skipped)}")
        if self.skipped:
            line += " (" + "; ".join(f"{Path(s.path).name}: {s.reason}" for s in self.skipped) + ")"
        if self.unknown:
            line += f", not in the index {len(self.unknown)} (" + "; ".join(self.unknown) + ")"
        return line + f" -> generation {c.generation}: {c.articles_total} articles, {c.sentences_total} sentences"


def stored_articles(index_dir: Path) -> dict[str, str | None]:
    """article id -> path, in the live generation (empty when there is no index)."""
    generation = current_generation(index_dir)
    if generation is None:
        return {}
    with opening(generation / "meta.sqlite"):
        if not (generation / "meta.sqlite").is_file():
            raise FileNotFoundError(generation / "meta.sqlite")
        db = connect(generation / "meta.sqlite", readonly=True)
        try:
            return {row["id"]: row["path"] for row in db.execute("SELECT id, path FROM articles")}
        finally:
            db.close()


def stored_hashes(index_dir: Path) -> dict[str, str]:
    """article body hash -> its path (or id), in the live generation."""
    generation = current_generation(index_dir)
    if generation is None:
        return {}
    with opening(generation / "meta.sqlite"):
        db = connect(generation / "meta.sqlite", readonly=True)
        try:
            return {row["hash"]: row["path"] or row["id"] for row in db.execute("SELECT hash, path, id FROM articles")}
        finally:
            db.close()


def resolve_targets(index_dir: Path, targets: Iterable[str]) -> tuple[list[str], list[str]]:
    """Article ids named directly or by (file or folder) path; and targets matching nothing."""
    stored = stored_articles(index_dir)
    ids: list[str] = []
    unknown: list[str] = []
    for target in targets:
        if target in stored:
            ids.append(target)
            continue
        if is_url(target):  # a page added by URL records its final URL as its path
            matched = [i for i, p in stored.items() if p == target]
        else:
            where = str(Path(target).resolve())
            matched = [i for i, p in stored.items() if p and under(p, where)]
        ids += matched
        if not matched:
            unknown.append(target)
    return list(dict.fromkeys(ids)), unknown


def under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies inside it (both absolute)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def remove(index_dir: Path, targets: Iterable[str], notify: Callable[[str], None] | None = None) -> SyncReport:
    """Take articles out by id, file or folder path; loads no model (nothing is embedded)."""
    status = index_status(index_dir)
    if status is None:
        raise IndexMissing(missing_message(index_dir))
    ids, unknown = resolve_targets(index_dir, targets)
    model = IndexModel(str(status["model"]), int(status["dimension"]))  # type: ignore[call-overload]
    return SyncReport(write(index_dir, model, removals=ids, notify=notify), unknown=unknown)


def stale(stored: dict[str, str | None], articles: list[Article], gone: Callable[[str], bool]) -> list[str]:
    """Stored articles to drop: their file is gone, or their file now holds other articles."""
    fresh = {a.id for a in articles}
    reread = {a.path for a in articles}
    return [i for i, p in stored.items() if p and (gone(p) or (p in reread and i not in fresh))]


def sync(index_dir: Path, embedder: Embedder, folder: Path, notify: Callable[[str], None] | None = None,
         progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """Make the index mirror a folder: new and changed files in, deleted files out.

    A file that exists but cannot be read keeps its previously indexed version (nothing is lost
    because a copy is half-way); only files that are gone are removed."""
    articles, skipped = load([folder])
    root = str(folder.resolve())
    removals = stale(stored_articles(index_dir), articles, lambda p: under(p, root) and not Path(p).exists())
    change = write(index_dir, embedder, articles, removals, progress=progress, notify=notify)
    return SyncReport(change, skipped)


def apply_changes(index_dir: Path, embedder: Embedder, paths: Iterable[Path],
                  notify: Callable[[str], None] | None = None) -> SyncReport:
    """Ingest the given files (changed or new) and drop articles of the ones that no longer exist."""
    paths = list(paths)
    present = [p for p in paths if p.exists()]
    gone = {str(p.resolve()) for p in paths if not p.exists()}
    articles, skipped = load(present) if present else ([], [])
    removals = stale(stored_articles(index_dir), articles, gone.__contains__)
    change = write(index_dir, embedder, articles, removals, notify=notify)
    return SyncReport(change, skipped)


def is_article_file(path: Path) -> bool:
    name = path.name
    return (path.suffix.lower() in SUPPORTED and not name.startswith(".") and not name.endswith("~")
            and not any(part.startswith(".") for part in path.parts[-3:-1]))
