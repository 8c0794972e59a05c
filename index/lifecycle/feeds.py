"""Follow RSS/Atom feeds: poll, fetch new items' pages, add them to the index, log one line per poll.

feedparser reads the feeds (RSS 0.9x/1.0/2.0, Atom; broken XML is reported, not guessed at).
Polls are conditional (ETag / Last-Modified), so an unchanged feed costs one 304. An item is
new when its entry id (or link) has not been seen, and is skipped when the index already holds
the same text (a wire story in two feeds is indexed once). Its page is fetched and extracted as
``citebot index add URL`` does; when the page cannot be fetched, the feed's own full content
(``content:encoded``, Atom ``content``) is used if it has some, else the item is retried on the
next polls. A failing feed is retried with exponential backoff and never stops the others; a
failure never removes anything from the index. What has been seen is kept in
``feeds.json`` in the index's local directory so a restart does not fetch every item again.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import CitebotError
from citebot.index.ingest.articles import UnreadableError
from citebot.index.ingest.fetch import Fetcher, FetchError
from citebot.index.ingest.html import page_article
from citebot.index.ingest.urls import scheme_problem
from citebot.index.records import Article
from citebot.index.store.base import Store
from citebot.index.store.open import as_store

Entry = dict[str, Any]  # a feedparser entry
log = logging.getLogger("citebot.feeds")
DEFAULT_INTERVAL = 300.0  # seconds between polls of one feed
MAX_BACKOFF = 3600.0  # a failing feed is retried at most this far apart
ITEM_ATTEMPTS = 3  # an item whose page and content both fail is given up after this many polls
SEEN_LIMIT = 5000  # entry keys remembered per feed
MIN_CONTENT_CHARS = 200  # a feed item's own content this long can stand in for its page
STATE_FILE = "feeds.json"


@dataclass
class FeedState:
    """What is remembered about one feed between polls (and restarts)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    seen: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # entry key -> failed polls so far
    failures: int = 0  # consecutive failed polls of the feed itself
    next_poll: float = 0.0  # time.time() of the next poll

    def remember(self, key: str) -> None:
        if key not in self.seen:
            self.seen.append(key)
            del self.seen[:-SEEN_LIMIT]
        self.attempts.pop(key, None)


@dataclass
class PollReport:
    feed: str
    new: list[str] = field(default_factory=list)  # article paths (final URLs)
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "URL: reason"
    not_modified: bool = False
    error: str | None = None  # the feed itself failed
    generation: int | None = None
    retry_in: float | None = None
    seconds: float = 0.0  # the poll's wall time: fetching, extracting, embedding, publishing

    def line(self) -> str:
        if self.error:
            return f"feed {self.feed}: failed ({self.error}); next try in {self.retry_in or 0:.0f}s; nothing removed"
        if self.not_modified:
            return f"feed {self.feed}: not modified"
        text = f"feed {self.feed}: {len(self.new)} new, {self.unchanged} unchanged, {len(self.failed)} failed"
        if self.failed:
            text += " (" + "; ".join(self.failed[:5]) + (" ..." if len(self.failed) > 5 else "") + ")"
        if self.generation is not None:
            text += f" -> generation {self.generation}"
        return text + f" in {self.seconds:.1f}s"


def entry_key(entry: Entry) -> str:
    """An entry's identity: its id, else its link, else a hash of its title and summary."""
    for name in ("id", "link"):
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raw = f"{entry.get('title', '')}\n{entry.get('summary', '')}"
    return "sha1:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()


def _entry_date(entry: Entry) -> str | None:
    for name in ("published_parsed", "updated_parsed"):
        parsed = entry.get(name)
        if parsed:
            return time.strftime("%Y-%m-%d", time.gmtime(calendar.timegm(parsed)))
    return None


def _entry_content(entry: Entry) -> str:
    contents = entry.get("content") or []
    best = max((c.get("value", "") for c in contents), key=len, default="")
    return best


def parse_feed(url: str, text: str) -> tuple[str | None, list[Entry]]:
    """(feed title, entries); FetchError when the document is not a readable feed.

    feedparser recovers what it can from slightly broken XML (an unescaped ``&``, a wrong declared
    encoding): those entries are kept when they carry a link or text. Broken XML from which
    nothing usable comes back is reported as malformed."""
    import feedparser

    parsed = feedparser.parse(text)
    usable = [e for e in parsed.entries if e.get("link") or _entry_content(e)]
    if parsed.get("bozo") and not usable:
        reason = parsed.get("bozo_exception")
        raise FetchError(url, f"not a readable RSS/Atom feed (malformed XML: {str(reason).strip() or type(reason).__name__})")
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(url, "not an RSS/Atom feed (no channel or entries)")
    return parsed.feed.get("title"), list(parsed.entries)


class FeedFollower:
    """Polls feeds into an index; ``poll_due()`` once, or ``loop()`` in a thread until ``stop()``."""

    def __init__(self, feeds: Iterable[str], store: Store | Path, embedder: Embedder, interval: float = DEFAULT_INTERVAL,
                 fetcher: Fetcher | None = None, on_poll: Callable[[PollReport], None] | None = None) -> None:
        self.store = as_store(store)
        self.embedder = embedder
        self.interval = interval
        self.fetcher = fetcher or Fetcher()
        self.on_poll = on_poll
        self.feeds = list(dict.fromkeys(f.strip() for f in feeds if f.strip()))
        for url in self.feeds:
            problem = scheme_problem(url)
            if problem:
                raise CitebotError(f"feed {url}: {problem}")
        self.states = self._load_state()
        self._stop = threading.Event()

    # state ---------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.store.workspace / STATE_FILE

    def _load_state(self) -> dict[str, FeedState]:
        saved: dict[str, Any] = {}
        try:
            saved = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("feed state %s unreadable (%s): starting afresh; items already indexed are not added twice",
                        self.state_path, exc)
        states = {}
        for url in self.feeds:
            raw = saved.get(url) if isinstance(saved, dict) else None
            try:
                states[url] = FeedState(**{**raw, "next_poll": 0.0}) if isinstance(raw, dict) else FeedState(url)
            except TypeError:
                states[url] = FeedState(url)
        return states

    def _save_state(self) -> None:
        self.store.workspace.mkdir(parents=True, exist_ok=True)
        try:
            saved = json.loads(self.state_path.read_text(encoding="utf-8"))
            saved = saved if isinstance(saved, dict) else {}
        except (OSError, ValueError):
            saved = {}
        saved.update({url: state.__dict__ for url, state in self.states.items()})
        tmp = self.state_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(saved, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    # polling -------------------------------------------------------------------------------
    def poll_due(self, now: float | None = None) -> list[PollReport]:
        """Poll every feed whose time has come; returns their reports."""
        now = time.time() if now is None else now
        return [self.poll(url) for url, state in self.states.items() if state.next_poll <= now]

    def poll(self, url: str) -> PollReport:
        state = self.states[url]
        started = time.monotonic()
        try:
            report = self._poll(state)
            state.failures = 0
            state.next_poll = time.time() + self.interval
        except (CitebotError, OSError, sqlite3.Error) as exc:  # this feed only: the others and the index are untouched
            state.failures += 1
            wait = min(MAX_BACKOFF, self.interval * 2 ** (state.failures - 1))
            state.next_poll = time.time() + wait
            report = PollReport(url, error=getattr(exc, "reason", None) or str(exc), retry_in=wait)
        report.seconds = time.monotonic() - started
        self._save_state()  # after every poll: a restart never fetches what this poll took in
        (log.warning if report.error or report.failed else log.info)("%s", report.line())
        if self.on_poll:
            self.on_poll(report)
        return report

    def _poll(self, state: FeedState) -> PollReport:
        fetched = self.fetcher.feed(state.url, state.etag, state.last_modified)
        report = PollReport(state.url)
        if fetched.not_modified:
            report.not_modified = True
            return report
        feed_title, entries = parse_feed(state.url, fetched.text)
        known = self.store.hashes()
        articles: dict[str, Article] = {}
        taken: list[str] = []
        for entry in entries:
            key = entry_key(entry)
            if key in state.seen:
                report.unchanged += 1
                continue
            try:
                article = self._item_article(entry, feed_title)
            except (FetchError, UnreadableError) as exc:
                state.attempts[key] = state.attempts.get(key, 0) + 1
                if state.attempts[key] >= ITEM_ATTEMPTS:
                    state.remember(key)  # given up: not retried on every poll forever
                report.failed.append(str(exc) if isinstance(exc, FetchError) else f"{entry.get('link', key)}: {exc}")
                continue
            if article.hash in known or article.id in articles:
                report.unchanged += 1  # the same text is already indexed (another feed, an earlier URL)
                state.remember(key)
                continue
            articles[article.id] = article
            taken.append(key)
        if articles:
            change = self.store.write(self.embedder, list(articles.values()))
            report.new = [a.path or a.id for a in articles.values()]
            report.generation = change.generation
        for key in taken:
            state.remember(key)
        # Validators are kept only once every item is in: otherwise a 304 would hide the ones to retry.
        state.etag, state.last_modified = (None, None) if report.failed else (fetched.etag, fetched.last_modified)
        return report

    def _item_article(self, entry: Entry, feed_title: str | None) -> Article:
        link = entry.get("link")
        problem: FetchError | UnreadableError | None = None
        if isinstance(link, str) and link.strip():
            try:
                page = self.fetcher.page(link.strip())
                return self._with_entry_metadata(page_article(page.text, page.url, url=page.url), entry, feed_title)
            except (FetchError, UnreadableError) as exc:
                problem = exc
        content = _entry_content(entry)
        if len(content) >= MIN_CONTENT_CHARS:  # the feed carries the full text: use it, cite the link
            path = link.strip() if isinstance(link, str) and link.strip() else f"{entry_key(entry)}"
            html = f"<html><head><title>{entry.get('title', '')}</title></head><body><article>{content}</article></body></html>"
            return self._with_entry_metadata(page_article(html, path, url=path if link else None), entry, feed_title)
        raise problem or UnreadableError("the feed item has neither a link nor its text")

    @staticmethod
    def _with_entry_metadata(article: Article, entry: Entry, feed_title: str | None) -> Article:
        from dataclasses import replace

        title = entry.get("title") if isinstance(entry.get("title"), str) else None
        return replace(article, title=article.title or title, source=article.source or feed_title,
                       published=article.published or _entry_date(entry))

    def loop(self, tick: float = 0.5) -> None:
        while not self._stop.is_set():
            self.poll_due()
            self._stop.wait(tick)

    def stop(self) -> None:
        self._stop.set()
        self.fetcher.close()


def follow_in_thread(follower: FeedFollower) -> threading.Thread:
    thread = threading.Thread(target=follower.loop, name="citebot-feeds", daemon=True)
    thread.start()
    return thread
