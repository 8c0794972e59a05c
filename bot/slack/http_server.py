"""HTTP mode: Slack's Events API / interactivity / slash commands on POST /slack/events.

A small threaded server around ``App.dispatch`` (Bolt checks the signature and timestamp;
forged or stale requests get 401). GET /healthz answers 200 for load balancers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App, BoltRequest

MAX_BODY = 1024 * 1024
EVENTS_PATH = "/slack/events"


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            return  # Bolt and our listeners log what matters; no per-request access log with query strings

        def reply(self, status: int, body: str, headers: Mapping[str, Sequence[str] | str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for key, values in (headers or {}).items():
                for value in [values] if isinstance(values, str) else values:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.reply(200, "ok") if self.path == "/healthz" else self.reply(404, "not found")

        def do_POST(self) -> None:
            path, _, query = self.path.partition("?")
            if path != EVENTS_PATH:
                self.reply(404, "not found")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self.reply(413 if length > MAX_BODY else 400, "bad request size")
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            response = app.dispatch(BoltRequest(body=body, query=query, headers=dict(self.headers.items())))
            self.reply(response.status, response.body, response.headers)

    return ThreadingHTTPServer((host, port), Handler)
