"""Markdown articles turned into plain text plus the metadata their front matter declares."""

from __future__ import annotations

import re

from citebot.index.ingest.articles import make_article
from citebot.index.records import Article

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
MD_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)


def markdown_article(text: str, path: str | None) -> Article:
    """Markdown with optional front matter (title, source, url, published, id)."""
    text = text.replace("\r\n", "\n")
    meta: dict[str, str] = {}
    m = FRONT_MATTER.match(text)
    if m:
        for line in m.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip().lower()] = value.strip().strip("'\"")
        text = text[m.end():]
    heading = MD_HEADING.search(text)
    title = meta.get("title") or (heading.group(1) if heading and heading.start() == text.find("#") else None)
    text = MD_HEADING.sub(r"\1", text)
    text = MD_IMAGE.sub("", text)
    text = MD_LINK.sub(r"\1", text)
    text = MD_EMPHASIS.sub(r"\2", text)
    text = re.sub(r"^\s*(?:[-*+]|>)\s+", "", text, flags=re.MULTILINE)
    return make_article(
        text,
        path,
        id=meta.get("id"),
        title=title,
        source=meta.get("source"),
        url=meta.get("url"),
        published=meta.get("published") or meta.get("date"),
    )
