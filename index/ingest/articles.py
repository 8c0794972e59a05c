"""An article from text: the body normalised, its prose and metadata found (ingest/clean.py), checked
for what makes it unreadable. Every reader of a format (files, JSON, HTML, Markdown, pages, feeds)
ends here."""

from __future__ import annotations

from citebot.index.ingest.clean import find_structure, iso_date, normalise_text
from citebot.index.records import MAX_ARTICLE_CHARS, Article, derived_id

_limits = {"article_chars": MAX_ARTICLE_CHARS}


def set_max_article_chars(limit: int) -> None:
    """The longest article (in characters, after cleaning) that is indexed; longer ones are skipped."""
    _limits["article_chars"] = int(limit)


class UnreadableError(ValueError):
    """A file or record that cannot become an article; the message says why."""


def make_article(
    text: str,
    path: str | None,
    *,
    id: object = None,
    title: object = None,
    source: object = None,
    url: object = None,
    published: object = None,
) -> Article:
    """Article from raw text plus whatever metadata the caller already knows (it wins)."""
    body = normalise_text(text)
    if not body.strip():
        raise UnreadableError("article text is empty")
    if len(body) > _limits["article_chars"]:
        raise UnreadableError(f"article too long ({len(body)} characters, limit {_limits['article_chars']}: "
                              f"CITEBOT_MAX_ARTICLE_CHARS)")
    found = find_structure(body)
    if not found.spans:
        raise UnreadableError("no article prose found (only headings or boilerplate)")
    return Article(
        id=str(id).strip() if id not in (None, "") else derived_id(body),
        body=body,
        title=_str(title) or found.title,
        source=_str(source) or found.source,
        url=_str(url),
        published=iso_date(published) or found.published,
        path=path,
        content_spans=tuple(found.spans),
    )


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
