"""HTML and Markdown articles turned into plain text plus the metadata they declare."""

from __future__ import annotations

import re

from index.ingest import make_article
from index.records import Article

BLOCK_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre"]
DROP_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "figure", "svg"]


def _meta(soup, *names: str) -> str | None:  # type: ignore[no-untyped-def]
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content", "").strip():
            return str(tag["content"]).strip()
    return None


def html_article(html: str, path: str | None) -> Article:
    """Paragraph text of an HTML page (the <article> element when there is one)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = _meta(soup, "og:title", "twitter:title")
    if not title and soup.title and soup.title.string:
        title = soup.title.string.strip()
    h1 = soup.find("h1")
    title = title or (h1.get_text(" ", strip=True) if h1 else None)
    source = _meta(soup, "og:site_name", "application-name", "publisher")
    published = _meta(soup, "article:published_time", "datePublished", "date", "pubdate")
    if not published:
        time_tag = soup.find("time", attrs={"datetime": True})
        published = str(time_tag["datetime"]) if time_tag else None
    canonical = soup.find("link", attrs={"rel": "canonical"})
    url = _meta(soup, "og:url") or (str(canonical["href"]) if canonical and canonical.get("href") else None)
    for tag in soup(DROP_TAGS):
        tag.decompose()
    root = soup.find("article") or soup.body or soup
    blocks = [" ".join(b.get_text(" ", strip=True).split()) for b in root.find_all(BLOCK_TAGS)]
    if not blocks:
        blocks = [line.strip() for line in root.get_text("\n").splitlines()]
    text = "\n\n".join(b for b in blocks if b and b != title)
    return make_article(text, path, title=title, source=source, url=url, published=published)


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
