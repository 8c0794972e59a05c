"""Fetch web pages and feeds politely: httpx for HTTP, tenacity for retries.

Every request has a timeout, a size cap, a redirect limit and a clear User-Agent; only http and
https are fetched. 429 and 5xx answers and network errors are retried with exponential backoff,
waiting what ``Retry-After`` asks for when the server says (up to a cap). Whatever fails comes
out as a FetchError whose message names the URL and the reason.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity import Retrying as _Retrying

from citebot.index.errors import CitebotError
from citebot.index.ingest.urls import scheme_problem

USER_AGENT = "citebot/0.1 (news article indexer; +https://github.com/citebot/citebot)"
TIMEOUT_SECONDS = 20.0
MAX_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
ATTEMPTS = 4  # one request and up to three retries
MAX_RETRY_WAIT = 60.0  # never wait longer than this for one retry, whatever Retry-After says
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
PAGE_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("xml", "rss", "atom", "text/plain")  # feeds are often served as text/xml or text/plain
META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)


class FetchError(CitebotError):
    """A URL that could not be fetched; ``str()`` names the URL and the reason."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class _Retryable(Exception):
    """A 429/5xx answer, kept for the retry policy (Retry-After) and the final message."""

    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    text: str
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # 304 to a conditional request: ``text`` is empty
    headers: dict[str, str] = field(default_factory=dict)


def check_scheme(url: str) -> None:
    problem = scheme_problem(url)
    if problem:
        raise FetchError(url, problem)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _wait(backoff: float) -> Callable[[RetryCallState], float]:
    exponential = wait_exponential_jitter(multiplier=backoff, max=MAX_RETRY_WAIT, jitter=backoff)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        return min(MAX_RETRY_WAIT, asked) if asked is not None else exponential(state)

    return wait


def decode(data: bytes, content_type: str) -> str:
    """Text of a body: the charset of the header, else of a <meta> tag, else UTF-8 (bad bytes replaced)."""
    m = re.search(r"charset=([\w-]+)", content_type, re.I) or META_CHARSET.search(data[:4096])
    charset = m.group(1) if m else "utf-8"
    charset = charset.decode() if isinstance(charset, bytes) else charset
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


class Fetcher:
    """One HTTP client (connections reused) with citebot's limits; use as a context manager or close()."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS,
                 attempts: int = ATTEMPTS, backoff: float = 1.0) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.attempts = attempts
        self.backoff = backoff
        self.client = httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=max_redirects,
                                   headers={"User-Agent": USER_AGENT})

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def page(self, url: str) -> Fetched:
        """An HTML page."""
        return self.get(url, PAGE_TYPES, "an HTML page")

    def feed(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """An RSS/Atom feed, conditionally: ``not_modified`` when the server says nothing changed."""
        return self.get(url, FEED_TYPES, "a feed", etag=etag, last_modified=last_modified)

    def get(self, url: str, accept: tuple[str, ...], what: str, etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        check_scheme(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        retrying = _Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=_wait(self.backoff),
            retry=retry_if_exception(lambda e: isinstance(e, (_Retryable, httpx.TransportError))),
            reraise=True,
        )
        try:
            return retrying(self._once, url, headers, accept, what)
        except _Retryable as exc:
            raise FetchError(url, f"{exc} (after {self.attempts} attempts)") from None
        except httpx.TooManyRedirects:
            raise FetchError(url, f"too many redirects (more than {self.max_redirects}; a redirect loop?)") from None
        except httpx.TimeoutException:
            raise FetchError(url, f"timed out (after {self.attempts} attempts)") from None
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(url, f"redirected to a URL that is not http or https ({exc})") from None
        except httpx.TransportError as exc:
            raise FetchError(url, f"cannot connect: {exc or type(exc).__name__} (after {self.attempts} attempts)") from None
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"invalid URL ({exc})") from None

    def _once(self, url: str, headers: dict[str, str], accept: tuple[str, ...], what: str) -> Fetched:
        with self.client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            if response.status_code == 304:
                return Fetched(final, "", "", response.headers.get("etag"), response.headers.get("last-modified"), True)
            if response.status_code in RETRY_STATUSES:
                raise _Retryable(response.status_code, response.reason_phrase,
                                 retry_after_seconds(response.headers.get("retry-after")))
            if response.status_code >= 400:
                raise FetchError(url, f"HTTP {response.status_code} {response.reason_phrase}")
            content_type = response.headers.get("content-type", "").lower()
            if content_type and not any(kind in content_type for kind in accept):
                raise FetchError(url, f"not {what} (content type {content_type.split(';')[0]})")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"too large ({int(declared)} bytes, limit {self.max_bytes})")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(url, f"too large (more than {self.max_bytes} bytes)")
                chunks.append(chunk)
            data = b"".join(chunks)
        if b"\x00" in data[:8192]:
            raise FetchError(url, f"not {what} (binary content)")
        return Fetched(final, decode(data, content_type), content_type, response.headers.get("etag"),
                       response.headers.get("last-modified"), headers=dict(response.headers))
