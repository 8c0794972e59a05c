"""Build the slack-bolt App: a Web API client on the configured base URL, our listeners."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import WebClient

from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.bot.slack import listeners
from citebot.bot.slack.state import BotState


def web_client(settings: Settings) -> WebClient:
    """Every Web API call (auth.test, chat.*, views.*, apps.connections.open) goes to SLACK_API_URL.
    HTTP 429 is retried after Retry-After; dropped connections are retried too."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=30,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that it is unused when a client is given; our
    client carries that very token, so the warning only alarms operators at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def create_app(settings: Settings, service: AnswerService, state: BotState) -> App:
    logger = logging.getLogger("slack_bolt.citebot")  # a library's lines: shown at the debug level only
    notice = _SameTokenNotice()
    logger.addFilter(notice)
    try:
        app = App(client=web_client(settings), signing_secret=settings.slack_signing_secret or "",
                  process_before_response=False, logger=logger)
    finally:
        logger.removeFilter(notice)
    listeners.register(app, service, state, settings)
    return app
