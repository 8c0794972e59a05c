"""Typed records passed between the stages of the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

MAX_ARTICLE_CHARS = 2_000_000  # default of CITEBOT_MAX_ARTICLE_CHARS: longer articles are skipped with the reason


def content_hash(text: str) -> str:
    """Stable hash of an article body; equal bodies are never embedded twice."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def derived_id(body: str) -> str:
    """The id of an article that was given none: derived from its text."""
    return "a" + content_hash(body)[:15]


@dataclass(frozen=True)
class Article:
    """One article as ingested. ``body`` is the text every sentence offset points into."""

    id: str
    body: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    path: str | None = None
    # Spans of ``body`` that hold article prose (boilerplate, headings and datelines excluded).
    content_spans: tuple[tuple[int, int], ...] = ()

    @property
    def hash(self) -> str:
        return content_hash(self.body)

    @property
    def id_is_derived(self) -> bool:
        return self.id == derived_id(self.body)


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.body[char_start:char_end] == text``."""

    article_id: str
    index: int  # position of the sentence within its article, from 0
    paragraph: int  # position of its paragraph within the article, from 0
    char_start: int
    char_end: int
    text: str


@dataclass(frozen=True)
class Skipped:
    """An input that could not be indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Hit:
    """A retrieved sentence with its article's metadata and a similarity score."""

    sentence_id: int
    score: float
    text: str
    article_id: str
    sentence_index: int
    char_start: int
    char_end: int
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    path: str | None
    extra: dict[str, float] = field(default_factory=dict)
