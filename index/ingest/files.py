"""Read article files (.txt, .md, .html, .json, .jsonl) into Article records.

A file that cannot be used is reported as a Skipped record with its reason; it never stops
the other files from being read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from citebot.index.ingest.articles import UnreadableError, make_article
from citebot.index.ingest.formats import markdown_article
from citebot.index.ingest.html import page_article
from citebot.index.records import Article, Skipped

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024
FIELDS = ("id", "title", "source", "url", "published", "text")


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """Files under the given paths in a stable order; missing paths come out as Skipped."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in child.relative_to(path).parts):
                    yield child
        elif path.is_file():
            yield path
        else:
            yield Skipped(str(path), "no such file or directory")


def read_text(path: Path) -> str:
    """The file as UTF-8 text, or UnreadableError saying why not."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableError(f"file too large ({size} bytes, limit {MAX_FILE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableError(f"cannot read file: {exc.strerror or exc}") from None
    if b"\x00" in data[:8192]:
        raise UnreadableError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    if not text.strip():
        raise UnreadableError("empty file")
    return text


def article_from_record(record: object, path: str) -> Article:
    """One JSON article object: only ``text`` is required."""
    if not isinstance(record, dict):
        raise UnreadableError(f"expected a JSON object, got {type(record).__name__}")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise UnreadableError('missing or empty "text" field')
    meta = {k: record.get(k) for k in FIELDS if k != "text"}
    return make_article(text, path, **meta)


def json_problem(exc: json.JSONDecodeError, where: str) -> str:
    """'malformed JSON: unterminated string at line 1 column 9' (the decoder's own text ends some messages in
    'starting at' or 'at', which its position completes)."""
    what = exc.msg.removesuffix(" at").removesuffix(" starting")
    return f"malformed JSON: {what[:1].lower()}{what[1:]} at {where}"


def _json_articles(path: Path, text: str) -> Iterator[Article | Skipped]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableError(json_problem(exc, f"line {exc.lineno} column {exc.colno}")) from None
    records = data if isinstance(data, list) else [data]
    for n, record in enumerate(records):
        label = f"{path}#{n}" if isinstance(data, list) else str(path)
        try:
            yield article_from_record(record, str(path))
        except UnreadableError as exc:
            yield Skipped(label, str(exc))


def _jsonl_articles(path: Path, text: str) -> Iterator[Article | Skipped]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            yield article_from_record(record, str(path))
        except json.JSONDecodeError as exc:
            yield Skipped(f"{path}:{lineno}", json_problem(exc, f"column {exc.colno}"))
        except UnreadableError as exc:
            yield Skipped(f"{path}:{lineno}", str(exc))


def read_file(path: Path) -> Iterator[Article | Skipped]:
    """Articles in one file (several for JSON lists and JSONL), Skipped for what fails.

    Articles record the file's absolute path: it identifies them for updates and removals."""
    path = path.resolve()
    suffix = path.suffix.lower()
    try:
        if suffix not in SUPPORTED:
            raise UnreadableError(f"unsupported file type {suffix or '(none)'}; use .txt .md .html .json .jsonl")
        text = read_text(path)
        if suffix in JSON_SUFFIXES:
            yield from _json_articles(path, text)
        elif suffix in JSONL_SUFFIXES:
            yield from _jsonl_articles(path, text)
        elif suffix in HTML_SUFFIXES:
            yield page_article(text, str(path))
        elif suffix in MARKDOWN_SUFFIXES:
            yield markdown_article(text, str(path))
        else:
            yield make_article(text, str(path))
    except UnreadableError as exc:
        yield Skipped(str(path), str(exc))


def load(paths: Iterable[str | Path]) -> tuple[list[Article], list[Skipped]]:
    """Every article under ``paths``; duplicates (same id or same body) are reported once."""
    articles: dict[str, Article] = {}
    by_hash: dict[str, str] = {}
    skipped: list[Skipped] = []
    for item in iter_files(paths):
        results = [item] if isinstance(item, Skipped) else read_file(item)
        for result in results:
            if isinstance(result, Skipped):
                skipped.append(result)
            elif result.hash in by_hash:
                skipped.append(Skipped(result.path or "?", f"same text as {by_hash[result.hash]}"))
            elif result.id in articles:
                skipped.append(Skipped(result.path or "?", f"duplicate article id {result.id!r}"))
            else:
                articles[result.id] = result
                by_hash[result.hash] = result.path or result.id
    return list(articles.values()), skipped

