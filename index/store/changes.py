"""What every store shares when it writes: the rules that plan a change (which articles are added,
replaced, removed or unchanged), the report of a write, and the one-writer-at-a-time lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from citebot.index.errors import IndexBusy
from citebot.index.records import Article

if TYPE_CHECKING:
    from filelock import FileLock

LOCK = ".lock"  # in the store's workspace, held by the one writer at a time
LOCK_WAIT_SECONDS = 600.0


@dataclass
class ChangeReport:
    generation: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    sentences_embedded: int = 0
    sentences_reused: int = 0
    sentences_total: int = 0
    articles_total: int = 0
    seconds: float = 0.0
    published: bool = False  # a new generation was written (False when nothing changed)


def writer_lock(directory: Path, wait: float = LOCK_WAIT_SECONDS, notify: Callable[[str], None] | None = None) -> FileLock:
    """The index's single-writer lock; says so when another writer holds it, then waits."""
    from filelock import FileLock, Timeout  # here: a question never takes the lock, and the import costs ~40 ms

    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / LOCK))
    try:
        lock.acquire(timeout=0)
        return lock
    except Timeout:
        if notify:
            notify(f"another citebot process is writing to {directory}; waiting up to {wait:.0f}s")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise IndexBusy(
            f"index {directory} is locked by another writer (a build, add or watch); try again later"
        ) from None
    return lock


def plan_changes(upserts: Iterable[Article], removals: set[str], stored_hash: Callable[[str], str | None],
                 same_file: Callable[[Article], str | None], report: ChangeReport) -> tuple[set[str], list[Article], list[Article]]:
    """(stored ids that go, articles to split and embed, unchanged articles): the same rules for every
    store. Unchanged text is kept; changed text replaces its article (same id, or the older version
    from the same single-article file: ``same_file``); removals drop what they name and exists."""
    doomed: set[str] = set()
    todo: list[Article] = []
    unchanged: list[Article] = []
    for article in upserts:
        old = stored_hash(article.id)
        if old is not None and old == article.hash:
            report.unchanged.append(article.id)
            unchanged.append(article)
            continue
        previous = same_file(article) if old is None else article.id
        if previous:
            doomed.add(previous)
            report.updated.append(article.id)
        else:
            report.added.append(article.id)
        todo.append(article)
    for article_id in sorted(removals - doomed):  # an old version replaced above is "updated", not "removed"
        if stored_hash(article_id) is not None:
            doomed.add(article_id)
            report.removed.append(article_id)
    return doomed, todo, unchanged
