"""Running the real Bolt app against the fake Slack, in HTTP mode or Socket Mode."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.bot.slack.app import create_app
from citebot.bot.slack.http_server import make_server
from citebot.bot.slack.state import BotState
from citebot.index.embed.embedders import Embedder, HashEmbedder
from tests.fake_slack import BOT_USER, FakeSlack

SECRET = "8f742231b10e8888abcd99e0aaa85a5f"


def bot_settings(fake: FakeSlack, index_dir: Path, model: str, **overrides: Any) -> Settings:
    return Settings(model=model, index_dir=index_dir, slack_bot_token="xoxb-111-222-fakebottoken",
                    slack_app_token="xapp-1-A1-333-fakeapptoken", slack_signing_secret=SECRET,
                    slack_api_url=fake.api_url, **{"reranker": "none", **overrides})


@dataclass
class Bot:
    fake: FakeSlack
    service: AnswerService
    state: BotState
    url: str = ""

    def post(self, body: str, content_type: str, *, timestamp: int | None = None, secret: str = SECRET,
             headers: dict[str, str] | None = None) -> int:
        """A signed POST to the bot's HTTP endpoint; returns the HTTP status."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature,
            **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def post_event(self, event: dict[str, Any], event_id: str = "Ev001", **kwargs: Any) -> int:
        return self.post(json.dumps(event_body(event, event_id)), "application/json", **kwargs)

    def post_form(self, form: dict[str, str], **kwargs: Any) -> int:
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)


def event_body(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": event, "type": "event_callback",
            "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]}


def mention(text: str, ts: str = "1700000100.000100", channel: str = "C1", user: str = "U1",
            thread_ts: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts,
             "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(text: str, ts: str, channel: str = "C1", channel_type: str = "channel", user: str = "U1",
            thread_ts: str | None = None, **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel,
             "channel_type": channel_type, "event_ts": ts, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def slash(text: str, fake: FakeSlack, channel: str = "C1", user: str = "U1") -> dict[str, str]:
    return {"token": "legacy", "team_id": "T1", "channel_id": channel, "user_id": user, "command": "/citebot",
            "text": text, "response_url": fake.response_url(), "trigger_id": "13345224609.738474920.8088930838d"}


def block_action(action_id: str, value: str, fake: FakeSlack, channel: str = "C1", user: str = "U1") -> dict[str, Any]:
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "api_app_id": "A1",
            "token": "legacy", "trigger_id": "1.2.3", "channel": {"id": channel},
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel, "is_ephemeral": True},
            "response_url": fake.response_url("r2"),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "citebot_actions", "value": value,
                         "action_ts": "1700000001.000001"}]}


def service_for(settings: Settings, embedder: Embedder | None = None,
                factory: Callable[[str], Embedder] | None = None) -> AnswerService:
    return AnswerService(settings, embedder_factory=factory or (lambda name: embedder or HashEmbedder(256)))


@contextmanager
def http_bot(fake: FakeSlack, settings: Settings, service: AnswerService) -> Iterator[Bot]:
    state = BotState(settings.index_dir)
    app = create_app(settings, service, state)
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Bot(fake, service, state, url=f"http://127.0.0.1:{server.server_address[1]}/slack/events")
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def socket_bot(fake: FakeSlack, settings: Settings, service: AnswerService) -> Iterator[Bot]:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    state = BotState(settings.index_dir)
    app = create_app(settings, service, state)
    handler = SocketModeHandler(app, app_token=settings.slack_app_token)
    handler.connect()
    try:
        fake.wait_for(fake.connected, timeout=10)
        yield Bot(fake, service, state)
    finally:
        handler.close()
