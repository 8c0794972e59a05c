"""A real HTTP server on 127.0.0.1 for tests and benches: pages, a feed that can gain items, and failures.

Routes map a path to a Route (status, headers, body), or to a callable taking the request
headers and returning one. Requests are counted per path, with the headers they carried.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

WEB = Path(__file__).resolve().parent / "web"


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})
    delay: float = 0.0  # seconds before answering (timeouts)
    stream_bytes: int = 0  # send this many bytes of garbage instead of ``body`` (size cap)


Handler = Callable[[dict[str, str]], Route]


@dataclass
class Item:
    title: str
    link: str
    guid: str
    published: str = "Thu, 02 Apr 2026 06:40:00 GMT"
    content: str = ""


class Feed:
    """An RSS 2.0 feed whose items can be appended between polls; answers 304 to a matching ETag."""

    def __init__(self, title: str = "Harbour Wire: ports") -> None:
        self.title = title
        self.items: list[Item] = []
        self.lock = threading.Lock()
        self.modified = formatdate(usegmt=True)

    def add(self, item: Item) -> None:
        with self.lock:
            self.items.insert(0, item)
            self.modified = formatdate(usegmt=True)

    def xml(self) -> bytes:
        with self.lock:
            entries = "".join(
                f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link><guid>{escape(i.guid)}</guid>"
                f"<pubDate>{i.published}</pubDate>"
                + (f"<content:encoded><![CDATA[{i.content}]]></content:encoded>" if i.content else "")
                + "</item>"
                for i in self.items
            )
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
                f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>{escape(self.title)}</title>'
                f"<link>https://harbourwire.example/</link><description>test feed</description>{entries}</channel></rss>").encode()

    def handler(self, headers: dict[str, str]) -> Route:
        body = self.xml()
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if headers.get("if-none-match") == etag:
            return Route(304, b"", {"ETag": etag})
        return Route(200, body, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag,
                                 "Last-Modified": self.modified})


class WebServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.times: list[tuple[str, float]] = []  # (path, time.monotonic()) of each request
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append((self.path, headers))
                server.times.append((self.path, time.monotonic()))
                route = server.routes.get(self.path)
                if route is None:
                    route = Route(404, b"<html><body>not found</body></html>")
                elif callable(route):
                    route = route(headers)
                if route.delay:
                    time.sleep(route.delay)
                try:
                    self.send_response(route.status)
                    for key, value in route.headers.items():
                        self.send_header(key, value)
                    if route.stream_bytes:
                        self.send_header("Content-Type", "text/html")
                        self.end_headers()
                        chunk = b"garbage " * 8192
                        sent = 0
                        while sent < route.stream_bytes:
                            self.wfile.write(chunk)
                            sent += len(chunk)
                        return
                    self.send_header("Content-Length", str(len(route.body)))
                    self.end_headers()
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (size cap, timeout)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, html: str | bytes, **headers: str) -> str:
        body = html.encode() if isinstance(html, str) else html
        self.routes[path] = Route(200, body, {"Content-Type": "text/html; charset=utf-8", **headers})
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [h for p, h in self.requests if p == path]

    def start(self) -> WebServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def sample_page(name: str) -> str:
    return (WEB / name).read_text(encoding="utf-8")
