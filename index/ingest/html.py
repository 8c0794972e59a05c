"""Web pages turned into article text plus the metadata they declare.

trafilatura finds the main text (its own boilerplate removal), the title, the site name, the
canonical URL and the publication date (htmldate: page metadata, JSON-LD, URL, visible dates).
Two things it leaves out are added back, because publishers declare them as part of the article:
- the JSON-LD ``articleBody`` of a NewsArticle, when the page builds its text with scripts and
  the visible HTML holds only a caption or a teaser (much shorter than the declared body);
- the standfirst (the page's description), when it is a full sentence the text does not contain.
citebot's own filters (``index.clean``) then choose the prose spans: datelines, syndication
notices, link text in other scripts and calls to the reader are left out of the index.
"""

from __future__ import annotations

import html as htmlmod
import json
import re
from collections.abc import Iterator
from typing import Any

from citebot.index.ingest.articles import UnreadableError, make_article
from citebot.index.records import Article

JSON_LD = re.compile(r"<script[^>]*application/ld\+json[^>]*>(.*?)</script>", re.S | re.I)
ARTICLE_TYPE = re.compile(r"(?:Article|BlogPosting|Report)$")
TAG = re.compile(r"<[^>]+>")
DECLARED_BODY_RATIO = 2.0  # the declared body wins when it is this many times longer than the visible text
STANDFIRST_MIN_WORDS = 8


def _json_ld(page: str) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page (lists and @graph flattened); malformed blocks are ignored."""
    for match in JSON_LD.finditer(page):
        try:
            data = json.loads(match.group(1), strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                stack.append(item.get("@graph"))


def declared_body(page: str) -> str:
    """The longest ``articleBody`` declared by an Article-like JSON-LD object, as plain text."""
    best = ""
    for item in _json_ld(page):
        kinds = item.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        body = item.get("articleBody")
        if isinstance(body, str) and len(body) > len(best) and any(isinstance(k, str) and ARTICLE_TYPE.search(k) for k in kinds):
            best = body
    return htmlmod.unescape(TAG.sub(" ", best)).strip()


def _folded(text: str) -> str:
    return " ".join(text.lower().split())


def standfirst(description: str | None, text: str) -> str | None:
    """The page description when it reads as the article's standfirst and the text lacks it."""
    desc = " ".join((description or "").split())
    if len(desc.split()) < STANDFIRST_MIN_WORDS or not desc.endswith((".", "!", "?", "\u201d", '"')):
        return None
    probe = _folded(desc)[:60]
    return None if probe in _folded(text) else desc


def page_article(page: str, path: str | None, url: str | None = None) -> Article:
    """An article from an HTML page; ``url`` (where it was fetched from) wins over the page's own."""
    import trafilatura

    doc = trafilatura.bare_extraction(page, url=url, with_metadata=True, include_comments=False)
    if isinstance(doc, dict):  # as_dict=True would give one; this call gets a Document or None
        raise UnreadableError("the page's extraction gave no document")
    text = (doc.text or "") if doc is not None else ""
    body = declared_body(page)
    if len(body) > DECLARED_BODY_RATIO * len(text):
        text = body
    if not text.strip():
        raise UnreadableError("no article text found in the page")
    lead = standfirst(doc.description if doc is not None else None, text)
    if lead:
        text = lead + "\n" + text
    meta = doc if doc is not None else None
    return make_article(
        text,
        path,
        title=meta.title if meta else None,
        source=meta.sitename if meta else None,
        url=url or (meta.url if meta else None),
        published=meta.date if meta else None,
    )
