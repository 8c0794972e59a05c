"""`citebot serve`: check configuration, load the model and index once, run the Slack app."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from citebot.bot.config import ConfigError, Settings, embedder_for_adding
from citebot.bot.logs import setup_logging

if TYPE_CHECKING:
    from slack_bolt import App

    from citebot.bot.service import AnswerService

log = logging.getLogger("citebot.serve")
SHAPES = {
    "SLACK_BOT_TOKEN": re.compile(r"xoxb-[A-Za-z0-9-]+"),
    "SLACK_APP_TOKEN": re.compile(r"xapp-[A-Za-z0-9-]+"),
    "SLACK_SIGNING_SECRET": re.compile(r"[A-Za-z0-9]{16,}"),
}


def check_credentials(settings: Settings, http: bool) -> None:
    """Clear startup errors naming each missing or malformed variable, never its value."""
    values = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if http:
        values["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    else:
        values["SLACK_APP_TOKEN"] = settings.slack_app_token
    missing = [name for name, value in values.items() if not value]
    malformed = [name for name, value in values.items() if value and not SHAPES[name].fullmatch(value.strip())]
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing))
    if malformed:
        hints = {"SLACK_BOT_TOKEN": "xoxb-...", "SLACK_APP_TOKEN": "xapp-...", "SLACK_SIGNING_SECRET": "hex string"}
        problems.append("malformed " + ", ".join(f"{n} (expected {hints[n]})" for n in malformed))
    if problems:
        mode = "HTTP mode (--http)" if http else "Socket Mode"
        raise ConfigError(
            f"cannot start the Slack bot in {mode}: {'; '.join(problems)}. "
            f"Set them in the environment or in .env (see .env.example)."
        )


def connect(settings: Settings, service: AnswerService) -> App:
    """The Bolt app, after Slack accepted the bot token (auth.test); clear errors otherwise."""
    from urllib.error import URLError

    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from citebot.bot.slack.app import create_app
    from citebot.bot.slack.state import BotState

    try:
        return create_app(settings, service, BotState(settings.index_dir))
    except SlackApiError as exc:
        raise refused("SLACK_BOT_TOKEN", exc) from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(f"cannot reach the Slack Web API at {settings.slack_api_url} ({reason}); "
                          f"check the network or SLACK_API_URL") from None
    except BoltError as exc:
        if isinstance(exc.__context__, SlackApiError):  # Bolt's own auth.test of the bot token failed
            raise refused("SLACK_BOT_TOKEN", exc.__context__) from None
        raise ConfigError(f"cannot start the Slack app: {exc}") from None


def refused(variable: str, exc: Exception) -> ConfigError:
    """Slack turned a token down: name the variable that holds it and Slack's error code, never the token."""
    response = getattr(exc, "response", None)
    code = response.get("error") if response is not None else None
    hint = {"SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-...) under OAuth & Permissions",
            "SLACK_APP_TOKEN": "an App-Level Token (xapp-...) with the connections:write scope, under Basic Information"}
    return ConfigError(f"Slack refused {variable} ({code or 'no reason given'}): set it to {hint[variable]} "
                       f"in the environment or .env")


def serve(settings: Settings, http: bool = False, port: int | None = None) -> int:
    check_credentials(settings, http)
    setup_logging(settings.log_level, [s for s in (settings.slack_bot_token, settings.slack_app_token,
                                                   settings.slack_signing_secret) if s])
    from citebot.bot.service import AnswerService

    service = AnswerService(settings)
    stats = service.stats()
    if stats is None:
        log.warning("no index at %s yet: questions will be told to wait for `citebot index build`", settings.index_dir)
    else:
        service.answerer()  # load the model and index now, not on the first question
        log.info("index loaded: %(articles)s articles, %(sentences)s sentences, generation %(generation)s", stats)
    app = connect(settings, service)
    if settings.watch_dir is not None:
        from citebot.index.lifecycle.watch import FolderWatcher, watch_in_thread

        watcher = FolderWatcher(settings.watch_dir, service.store, embedder_for_adding(settings, service.store))
        watch_in_thread(watcher)  # listens first, then reads what the folder already holds
        log.info("watching %s: new articles are answerable as soon as they are ingested", settings.watch_dir)
    if settings.feeds:
        from citebot.index.ingest.fetch import Fetcher
        from citebot.index.lifecycle.feeds import FeedFollower, follow_in_thread

        follower = FeedFollower(settings.feeds, service.store, embedder_for_adding(settings, service.store),
                                interval=settings.feed_interval,
                                fetcher=Fetcher(timeout=settings.fetch_timeout, attempts=settings.fetch_retries + 1))
        follow_in_thread(follower)
        log.info("following %d feed(s) every %gs: new items are answerable as soon as they are ingested",
                 len(settings.feeds), settings.feed_interval)
    if http:
        from citebot.bot.slack.http_server import make_server

        server = make_server(app, "0.0.0.0", port or settings.port)
        log.info("HTTP mode: listening on port %s, Slack request URL path /slack/events", server.server_address[1])
        server.serve_forever()
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError

        log.info("Socket Mode: connecting to Slack")
        try:
            SocketModeHandler(app, app_token=settings.slack_app_token).start()  # type: ignore[no-untyped-call]  # slack_bolt leaves start() unannotated
        except SlackApiError as exc:  # apps.connections.open, the one call made with the app token
            raise refused("SLACK_APP_TOKEN", exc) from None
    return 0
