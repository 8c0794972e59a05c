"""A fake Slack on 127.0.0.1: a Web API that records every call, and a Socket Mode websocket.

Real slack-bolt / slack-sdk talk to it through SLACK_API_URL. Runs an aiohttp server on its
own event loop in a background thread; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # method -> Slack error code (HTTP 200, ok false)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self._thread.start()
        assert self._ready.wait(10), "fake Slack did not start"
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            for ws in list(self._sockets):
                await ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    # --- Web API ---------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(dict(parse_qsl(raw)))
        for key in ("blocks", "view", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        with self._lock:
            self.calls.append(Call(method, params, dict(request.headers)))
            queued = self.failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure:
            status, headers = failure
            return web.json_response({"ok": False, "error": "ratelimited"}, status=status, headers=headers)
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        return web.json_response(self._reply(method, params))

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": "https://fake.slack/", "team": "Fake", "user": "citebot",
                    "team_id": "T1", "user_id": BOT_USER, "bot_id": "BBOT"}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message_ts": ts}
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        with self._lock:
            self.calls.append(Call("response_url", params, dict(request.headers)))
        return web.Response(text="ok")

    # --- Socket Mode -------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1,
                                      "connection_info": {"app_id": "A1"}, "debug_info": {"host": "fake"}}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    with self._lock:
                        self.acks.append(data["envelope_id"])
        if ws in self._sockets:
            self._sockets.remove(ws)
        return ws

    def connected(self) -> bool:
        return bool(self._sockets)

    def send_envelope(self, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Deliver an events_api / slash_commands / interactive envelope; returns its id."""
        envelope_id = str(uuid.uuid4())
        message = json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                              "accepts_response_payload": kind != "events_api",
                              "retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""})

        async def send() -> None:
            await self._sockets[-1].send_str(message)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)
        return envelope_id

    # --- inspection ------------------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("timed out waiting for the fake Slack to see the expected calls")

    def wait_calls(self, method: str, count: int = 1, timeout: float = 15.0, settle: float = 0.4) -> list[Call]:
        """Wait until ``count`` calls of ``method`` arrived, then a little longer to catch extras."""
        self.wait_for(lambda: len(self.of(method)) >= count, timeout)
        time.sleep(settle)
        return self.of(method)
