"""Slack listeners: mentions, DMs, thread follow-ups, /citebot, share and feedback buttons, App Home.

Each listener acknowledges at once (Bolt acks events for us; commands and actions call
``ack()`` first), then answers. Each has exactly one broad ``except``: it logs the error and
replies "something went wrong" where the question was asked.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.bot.slack.blocks import ACTION_DOWN, ACTION_SHARE, ACTION_UP, answer_blocks, fallback_text, home_view, notice_blocks
from citebot.bot.slack.state import BotState, SeenEvents
from citebot.index.errors import CitebotError, IndexMissing, StoreUnavailable

log = logging.getLogger("citebot.slack")
MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
LINK = re.compile(r"<(?:[^|>]+\|)?([^>]+)>")
SOMETHING_WRONG = "Sorry, something went wrong while answering. The error has been logged; please try again."
NO_INDEX = "I don't have any articles yet: an admin needs to run `citebot index build PATH...` on my machine."
HANDLED_SUBTYPES = {None, "thread_broadcast", "file_share"}


def question_text(text: str) -> str:
    """The question in a Slack message: mentions removed, links to their labels, entities decoded."""
    text = MENTION.sub(" ", text or "")
    text = LINK.sub(r"\1", text)
    return " ".join(html.unescape(text).split())


def allowed(settings: Settings, channel: str | None, user: str | None) -> bool:
    if settings.allowed_users and user not in settings.allowed_users:
        return False
    is_dm = bool(channel and channel.startswith("D"))
    return is_dm or not settings.allowed_channels or channel in settings.allowed_channels


def refusal(settings: Settings) -> str:
    where = ", ".join(f"<#{c}>" for c in sorted(settings.allowed_channels))
    return "Sorry, I'm not enabled here." + (f" You can ask me in {where}." if where else "")


def day_of(slack_ts: str | None) -> date | None:
    """The date of a Slack message timestamp ("1754550000.000100"), in UTC; None when there is none."""
    try:
        return datetime.fromtimestamp(float(slack_ts), tz=timezone.utc).date() if slack_ts else None
    except (ValueError, OverflowError, OSError):
        return None


class Responder:
    """Answers a question into a thread; the parts shared by every listener."""

    def __init__(self, service: AnswerService, state: BotState, settings: Settings) -> None:
        self.service = service
        self.state = state
        self.settings = settings

    def message_for(self, question: str, asked_at: str | None = None, **options: Any) -> tuple[list[dict[str, Any]], str]:
        """(blocks, fallback text) answering a question; user-facing errors become notices. ``asked_at``: the
        message's Slack timestamp, the reference date of "this week" (the settings' CITEBOT_AS_OF wins)."""
        try:
            result = self.service.ask(question, as_of=self.settings.as_of or day_of(asked_at))
        except IndexMissing:
            return notice_blocks(NO_INDEX), NO_INDEX
        except StoreUnavailable:
            raise  # an operator's problem: logged by the listener, which apologises in the thread
        except CitebotError as exc:
            return notice_blocks(str(exc)), str(exc)
        return answer_blocks(result, **options), fallback_text(result)

    def answer_in_thread(self, client: WebClient, channel: str, thread_ts: str, user: str | None, text: str,
                         asked_at: str | None = None) -> None:
        if not allowed(self.settings, channel, user):
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=refusal(self.settings))
            return
        blocks, fallback = self.message_for(question_text(text), asked_at)
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, blocks=blocks, text=fallback,
                                unfurl_links=False, unfurl_media=False)
        self.state.remember_thread(channel, thread_ts)

    @staticmethod
    def apologise(client: WebClient, channel: str | None, thread_ts: str | None, error: Exception) -> None:
        log.error("error while answering: %s: %s", type(error).__name__, error, exc_info=error)
        if channel:
            try:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=SOMETHING_WRONG)
            except SlackApiError as exc:
                log.error("could not post the apology either: %s", exc.response.get("error"))


def is_from_bot(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or (bot_user_id and event.get("user") == bot_user_id))


def register(app: App, service: AnswerService, state: BotState, settings: Settings) -> None:
    responder = Responder(service, state, settings)
    seen = SeenEvents()

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        channel, thread_ts = str(event.get("channel") or ""), str(event.get("thread_ts") or event.get("ts") or "")
        try:
            if is_from_bot(event, context.get("bot_user_id")) or not seen.first_time(body.get("event_id")):
                return
            responder.answer_in_thread(client, channel, thread_ts, event.get("user"), event.get("text", ""), event.get("ts"))
        except Exception as exc:  # one broad handler per listener: log, apologise in the thread
            responder.apologise(client, channel, thread_ts, exc)

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        channel, thread_ts = str(event.get("channel") or ""), str(event.get("thread_ts") or event.get("ts") or "")
        try:
            bot_user_id = context.get("bot_user_id")
            if event.get("subtype") not in HANDLED_SUBTYPES or is_from_bot(event, bot_user_id):
                return
            text = event.get("text", "")
            if event.get("channel_type") != "im":
                mentioned = bool(bot_user_id) and f"<@{bot_user_id}" in text  # app_mention answers those
                if mentioned or not event.get("thread_ts") or not state.answered_thread(channel, str(event["thread_ts"])):
                    return
            if not seen.first_time(body.get("event_id")):
                return
            responder.answer_in_thread(client, channel, thread_ts, event.get("user"), text, event.get("ts"))
        except Exception as exc:  # one broad handler per listener: log, apologise in the thread
            responder.apologise(client, channel, thread_ts, exc)

    @app.command("/citebot")
    def on_command(ack: Any, command: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        channel, user = str(command.get("channel_id") or ""), str(command.get("user_id") or "")
        try:
            if not allowed(settings, channel, user):
                respond(text=refusal(settings), response_type="ephemeral")
                return
            question = question_text(command.get("text", ""))
            if not question:
                respond(text="Ask a question after the command, e.g. `/citebot who co-chaired the session?`",
                        response_type="ephemeral")
                return
            blocks, fallback = responder.message_for(question, share=True, show_question=True)
            try:
                client.chat_postEphemeral(channel=channel, user=user, blocks=blocks, text=fallback)
            except SlackApiError:  # e.g. the bot is not in that channel: the response URL still works
                respond(blocks=blocks, text=fallback, response_type="ephemeral")
        except Exception as exc:  # one broad handler per listener: log, apologise to the asker
            log.error("error in /citebot: %s", exc, exc_info=exc)
            respond(text=SOMETHING_WRONG, response_type="ephemeral")

    @app.action(ACTION_SHARE)
    def on_share(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()
        channel, user = str((body.get("channel") or {}).get("id") or ""), str((body.get("user") or {}).get("id") or "")
        try:
            blocks, fallback = responder.message_for(question_text(action.get("value", "")), show_question=True)
            shared = [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"Shared by <@{user}>"}]}]
            client.chat_postMessage(channel=channel, blocks=(shared + blocks)[:50], text=fallback,
                                    unfurl_links=False, unfurl_media=False)
            respond(delete_original=True)
        except Exception as exc:  # one broad handler per listener: log, apologise to the clicker
            log.error("error sharing an answer: %s", exc, exc_info=exc)
            respond(text=SOMETHING_WRONG, response_type="ephemeral", replace_original=False)

    def on_feedback(vote: int) -> Callable[[Any, dict[str, Any], dict[str, Any], WebClient], None]:
        def handler(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
            ack()
            channel = (body.get("channel") or {}).get("id")
            user = (body.get("user") or {}).get("id")
            try:
                value = json.loads(action.get("value") or "{}")
                state.record_feedback(user, channel, str(value.get("q", "")), list(value.get("a", [])), vote)
                if channel and user:
                    client.chat_postEphemeral(channel=channel, user=user, text="Thanks for the feedback.",
                                              thread_ts=(body.get("message") or {}).get("thread_ts"))
            except Exception as exc:  # one broad handler per listener: log it; the vote click needs no reply
                log.error("error recording feedback: %s", exc, exc_info=exc)

        return handler

    app.action(ACTION_UP)(on_feedback(+1))
    app.action(ACTION_DOWN)(on_feedback(-1))

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        try:
            if event.get("tab", "home") == "home":
                stats = service.stats()
                span, outlets = service.coverage() if stats is not None else (None, [])
                client.views_publish(user_id=event["user"], view=home_view(stats, span, outlets))
        except Exception as exc:  # one broad handler per listener: log; the tab keeps its last view
            log.error("error publishing App Home: %s", exc, exc_info=exc)
