"""Keep an index in step with files: remove by id or path, mirror a folder, apply changes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from citebot.index.embed.embedders import Embedder, IndexModel
from citebot.index.ingest.files import SUPPORTED, load
from citebot.index.ingest.urls import is_url
from citebot.index.records import Article, Skipped
from citebot.index.store.base import Store
from citebot.index.store.changes import ChangeReport
from citebot.index.store.open import as_store
from citebot.index.wording import count

FOLDERS_FILE = "folders.json"  # in the store's workspace: the folders the index was built, synced or watched from


@dataclass
class SyncReport:
    change: ChangeReport
    skipped: list[Skipped] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # removal targets that matched nothing
    # removed articles whose file is still in a followed folder: (file, folder); a sync or watch adds them again
    returning: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        c = self.change
        line = (f"added {len(c.added)}, updated {len(c.updated)}, removed {len(c.removed)}, "
                f"unchanged {len(c.unchanged)}, skipped {len(self.skipped)}")
        if self.skipped:
            line += " (" + "; ".join(f"{Path(s.path).name}: {s.reason}" for s in self.skipped) + ")"
        if self.unknown:
            line += f", not in the index {len(self.unknown)} (" + "; ".join(self.unknown) + ")"
        where = f"generation {c.generation}" if c.published else f"nothing written, generation {c.generation} stays"
        return line + f" -> {where}: {count(c.articles_total, 'article')}, {count(c.sentences_total, 'sentence')}"


def stored_articles(store: Store | Path) -> dict[str, str | None]:
    """article id -> path, in the live generation (empty when there is no index)."""
    return as_store(store).articles()


def stored_hashes(store: Store | Path) -> dict[str, str]:
    """article body hash -> its path (or id), in the live generation."""
    return as_store(store).hashes()


def resolve_targets(store: Store | Path, targets: Iterable[str]) -> tuple[list[str], list[str]]:
    """Article ids named directly or by (file or folder) path or URL; and targets matching nothing."""
    stored = stored_articles(store)
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


def followed_folders(store: Store) -> list[str]:
    """Absolute paths of the folders this index was built, synced or watched from (oldest first)."""
    try:
        saved = json.loads((store.workspace / FOLDERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [f for f in saved if isinstance(f, str)] if isinstance(saved, list) else []


def remember_folders(store: Store, folders: Iterable[Path], replace: bool = False) -> None:
    """Record that ``folders`` feed this index (only them when ``replace``: a build from scratch), so that a
    removal can warn that their files come back."""
    known = [] if replace else followed_folders(store)
    wanted = list(dict.fromkeys([*known, *(str(f.resolve()) for f in folders)]))
    if wanted == followed_folders(store):
        return
    store.workspace.mkdir(parents=True, exist_ok=True)
    tmp = store.workspace / f"{FOLDERS_FILE}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(wanted, indent=1), encoding="utf-8")
    os.replace(tmp, store.workspace / FOLDERS_FILE)


def returning_files(store: Store, paths: Iterable[str | None]) -> list[tuple[str, str]]:
    """(file, folder) for each path that still exists inside a folder the index follows."""
    folders = followed_folders(store)
    found = []
    for path in paths:
        if not path or is_url(path) or not Path(path).is_file():
            continue
        folder = next((f for f in folders if under(path, f)), None)
        if folder and is_article_file(Path(path)):
            found.append((path, folder))
    return found


def remove(store: Store | Path, targets: Iterable[str], notify: Callable[[str], None] | None = None) -> SyncReport:
    """Take articles out by id, file or folder path, or URL; loads no model (nothing is embedded)."""
    store = as_store(store)
    status = store.require()
    stored = store.articles()
    ids, unknown = resolve_targets(store, targets)
    model = IndexModel(str(status["model"]), int(status["dimension"]))
    change = store.write(model, removals=ids, notify=notify)
    returning = returning_files(store, dict.fromkeys(stored.get(i) for i in change.removed))
    return SyncReport(change, unknown=unknown, returning=returning)


def stale(stored: dict[str, str | None], articles: list[Article], gone: Callable[[str], bool]) -> list[str]:
    """Stored articles to drop: their file is gone, or their file now holds other articles."""
    fresh = {a.id for a in articles}
    reread = {a.path for a in articles}
    return [i for i, p in stored.items() if p and (gone(p) or (p in reread and i not in fresh))]


def sync(store: Store | Path, embedder: Embedder, folder: Path, notify: Callable[[str], None] | None = None,
         progress: Callable[[int, int], None] | None = None) -> SyncReport:
    """Make the index mirror a folder: new and changed files in, deleted files out.

    A file that exists but cannot be read keeps its previously indexed version (nothing is lost
    because a copy is half-way); only files that are gone are removed."""
    store = as_store(store)
    articles, skipped = load([folder])
    root = str(folder.resolve())
    removals = stale(store.articles(), articles, lambda p: under(p, root) and not Path(p).exists())
    change = store.write(embedder, articles, removals, progress=progress, notify=notify)
    remember_folders(store, [folder])
    return SyncReport(change, skipped)


def apply_changes(store: Store | Path, embedder: Embedder, paths: Iterable[Path],
                  notify: Callable[[str], None] | None = None) -> SyncReport:
    """Ingest the given files (changed or new) and drop articles of the ones that no longer exist."""
    paths = list(paths)
    present = [p for p in paths if p.exists()]
    gone = {str(p.resolve()) for p in paths if not p.exists()}
    articles, skipped = load(present) if present else ([], [])
    store = as_store(store)
    removals = stale(store.articles(), articles, gone.__contains__)
    change = store.write(embedder, articles, removals, notify=notify)
    return SyncReport(change, skipped)


def is_article_file(path: Path) -> bool:
    name = path.name
    return (path.suffix.lower() in SUPPORTED and not name.startswith(".") and not name.endswith("~")
            and not any(part.startswith(".") for part in path.parts[-3:-1]))
