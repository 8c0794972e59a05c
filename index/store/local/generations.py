"""The index directory: generations of (FAISS vectors + SQLite metadata + manifest).

Layout::

    INDEX_DIR/CURRENT            name of the live generation, replaced atomically
    INDEX_DIR/gen-000007/        manifest.json, vectors.faiss (ids = sentence row ids), articles.faiss,
                                 meta.sqlite (text, citations), keyword/ (tantivy), table.npz
    INDEX_DIR/.lock              held by the one writer at a time

A writer builds the next generation in a temporary directory, renames it into place and
only then points CURRENT at it, so a crash at any moment leaves the last good generation.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

CURRENT = "CURRENT"
T = TypeVar("T")
GEN = re.compile(r"gen-(\d{6})")
KEEP_GENERATIONS = 2  # the live one and its predecessor (readers may still hold it)

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT, source TEXT, url TEXT, published TEXT, path TEXT,
    hash TEXT NOT NULL, derived_id INTEGER NOT NULL, body TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT NOT NULL REFERENCES articles(id),
    idx INTEGER NOT NULL, paragraph INTEGER NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_article ON sentences(article_id, idx);
CREATE INDEX IF NOT EXISTS sentences_text ON sentences(text);
CREATE INDEX IF NOT EXISTS articles_path ON articles(path);
"""


def generation_dirs(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("gen-*") if GEN.fullmatch(p.name) and p.is_dir())


def current_generation(directory: Path) -> Path | None:
    """The live generation directory, or None when no complete generation exists. A damaged or missing
    CURRENT beside generations raises IndexCorrupt naming the newest intact one (a writer must never
    take the index for empty and publish over it)."""
    try:
        name: str | None = (directory / CURRENT).read_text(encoding="utf-8").strip()
    except NotADirectoryError:
        return None
    except FileNotFoundError:
        name = None
    except (OSError, UnicodeDecodeError):
        name = ""
    if name is not None and GEN.fullmatch(name):
        return directory / name
    intact = [g for g in generation_dirs(directory) if _manifest_readable(g)] if directory.is_dir() else []
    if not intact:
        return None
    from citebot.index.errors import IndexCorrupt

    newest = intact[-1]
    what = "is missing" if name is None else f"is damaged (it names no generation: {name[:40]!r})"
    raise IndexCorrupt(f"{directory / CURRENT} {what}; the newest intact "
                       f"generation is {newest.name}: point CURRENT at it with `echo {newest.name} > {directory / CURRENT}`, "
                       f"or rebuild the index with `citebot index build PATH...`")


def _manifest_readable(generation: Path) -> bool:
    try:
        return isinstance(json.loads((generation / "manifest.json").read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def next_generation_number(directory: Path) -> int:
    numbers = [int(m[1]) for p in generation_dirs(directory) if (m := GEN.fullmatch(p.name))]
    for tmp in directory.glob(".tmp-gen-*"):
        m = re.match(r"\.tmp-gen-(\d{6})", tmp.name)
        if m:
            numbers.append(int(m[1]))
    return max(numbers, default=0) + 1


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(directory: Path, staged: Path, number: int) -> Path:
    """Rename a fully written generation into place and make it current, durably."""
    for child in staged.iterdir():
        fsync_path(child)
    final = directory / f"gen-{number:06d}"
    os.replace(staged, final)
    pointer = directory / f".{CURRENT}.tmp"
    pointer.write_text(final.name + "\n", encoding="utf-8")
    fsync_path(pointer)
    os.replace(pointer, directory / CURRENT)
    fsync_path(directory)
    return final


def prune(directory: Path) -> None:
    """Drop generations older than the last KEEP_GENERATIONS and leftovers of crashed writers.

    Called only by the lock holder, so every .tmp-gen-* directory found is abandoned.
    """
    live = current_generation(directory)
    gens = [g for g in generation_dirs(directory) if g != live]
    keep = set(gens[-(KEEP_GENERATIONS - 1):]) if KEEP_GENERATIONS > 1 else set()
    for old in gens:
        if old not in keep and (live is None or old.name < live.name):
            shutil.rmtree(old, ignore_errors=True)
    for pattern in (".tmp-gen-*", ".tmp-encoder-*", ".old-encoder-*"):
        for tmp in directory.glob(pattern):
            shutil.rmtree(tmp, ignore_errors=True)


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row
    return db


def chunked(items: list[T], size: int = 500) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def rows_by_ids(db: sqlite3.Connection, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
    """Sentence rows joined with their article's metadata, keyed by sentence id."""
    out: dict[int, sqlite3.Row] = {}
    for part in chunked(list(ids)):
        marks = ",".join("?" * len(part))
        for row in db.execute(
            f"""SELECT s.id, s.article_id, s.idx, s.paragraph, s.char_start, s.char_end, s.text,
                       a.rowid AS article_rowid, a.title, a.source, a.url, a.published, a.path
                FROM sentences s JOIN articles a ON a.id = s.article_id
                WHERE s.id IN ({marks})""",
            part,
        ):
            out[int(row["id"])] = row
    return out


@contextmanager
def staged_directory(directory: Path, number: int) -> Iterator[Path]:
    staged = directory / f".tmp-gen-{number:06d}-{os.getpid()}"
    staged.mkdir(parents=True)
    try:
        yield staged
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)



# What opening a damaged or missing index file raises: SQLite, FAISS (RuntimeError), numpy and
# tantivy (ValueError), zip/npz (KeyError, EOFError), the file system (OSError).
DAMAGE = (sqlite3.DatabaseError, RuntimeError, ValueError, KeyError, EOFError, OSError)


@contextmanager
def opening(path: Path) -> Iterator[None]:
    """Open (part of) a generation: any damage becomes one IndexCorrupt naming the file and the remedy.
    Used by the reader and the writer alike, so every command reports a damaged index the same way."""
    from citebot.index.errors import IndexCorrupt

    try:
        yield
    except DAMAGE as exc:
        if not path.exists():
            what = "is missing"
        else:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            what = f"is damaged ({reason})"
        raise IndexCorrupt(f"index file {path} {what}; rebuild the index with `citebot index build PATH...`") from None
