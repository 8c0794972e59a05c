"""Articles from URLs: fetch the page, extract it (index.html) and cite the final URL.

An article read from the web records its final URL as its path: adding the same page again
with the same text changes nothing (nothing is re-embedded), with new text it replaces the old
version, and ``citebot index remove URL`` takes it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from citebot.index.errors import CitebotError
from citebot.index.ingest.articles import UnreadableError
from citebot.index.ingest.fetch import Fetcher, FetchError
from citebot.index.ingest.html import page_article
from citebot.index.ingest.urls import is_url
from citebot.index.records import Article, Skipped


def url_article(url: str, fetcher: Fetcher) -> Article:
    """The article at ``url``; FetchError or UnreadableError say why there is none."""
    page = fetcher.page(url)
    return page_article(page.text, page.url, url=page.url)


def url_list(path: str) -> list[str]:
    """URLs in a text file, one per line; blank lines and ``#`` comments are ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CitebotError(f"URL list {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CitebotError(f"cannot read the URL list {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def split_sources(sources: Iterable[str]) -> tuple[list[str], list[str]]:
    """(URLs, file paths) among the command line's sources."""
    urls: list[str] = []
    paths: list[str] = []
    for source in sources:
        (urls if is_url(source) else paths).append(source)
    return urls, paths


def load_urls(urls: Iterable[str], fetcher: Fetcher | None = None) -> tuple[list[Article], list[Skipped]]:
    """Articles from each URL; a URL that fails is a Skipped naming it and the reason."""
    articles: dict[str, Article] = {}
    skipped: list[Skipped] = []
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    try:
        for url in dict.fromkeys(urls):
            try:
                article = url_article(url, fetcher)
            except FetchError as exc:
                skipped.append(Skipped(url, exc.reason))
                continue
            except UnreadableError as exc:
                skipped.append(Skipped(url, str(exc)))
                continue
            if article.id in articles:
                skipped.append(Skipped(url, f"same text as {articles[article.id].path}"))
                continue
            articles[article.id] = article
    finally:
        if own:
            fetcher.close()
    return list(articles.values()), skipped
