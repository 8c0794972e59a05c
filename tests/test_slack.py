"""The Slack bot against a fake Slack on 127.0.0.1, with real slack-bolt, real signed requests
and real Socket Mode envelopes. The fake embedder keeps these fast."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from citebot.bot.slack.blocks import ACTION_DOWN, ACTION_SHARE, ACTION_UP
from citebot.bot.slack.listeners import NO_INDEX, SOMETHING_WRONG
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.store.local.writer import write
from tests.conftest import FAKE_MODEL, SAMPLES
from tests.fake_slack import BOT_USER, FakeSlack
from tests.slack_helpers import (
    Bot,
    block_action,
    bot_settings,
    http_bot,
    mention,
    message,
    service_for,
    slash,
    socket_bot,
)

EVIL = ("The harbour master posted <!channel> and <!here> alerts, pinged <@U123> and <#C999|general>, "
        "and shared <https://evil.example|a trusted link> about the ferry timetable & fares.")


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    articles, _ = load([SAMPLES])
    evil = make_article(EVIL, None, id="evil-1", title="<!channel> Ferry <b>news</b>", source="Harbour <@U123> Gazette",
                        url="https://ferry.example/a?x=1&y=<2>")
    directory = tmp_path / "index"
    write(directory, HashEmbedder(256), [*articles, evil], fresh=True)
    return directory


@pytest.fixture
def bot(fake: FakeSlack, index_dir: Path) -> Iterator[Bot]:
    settings = bot_settings(fake, index_dir, FAKE_MODEL)
    with http_bot(fake, settings, service_for(settings)) as running:
        yield running


def payload_text(call) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(call.params, ensure_ascii=False)


def test_mention_gets_one_threaded_cited_answer(bot: Bot, fake: FakeSlack) -> None:
    assert bot.post_event(mention("who co-chaired the session?", ts="1700000100.000100")) == 200
    posts = fake.wait_calls("chat.postMessage")
    assert len(posts) == 1
    params = posts[0].params
    assert params["channel"] == "C1" and params["thread_ts"] == "1700000100.000100"
    text = payload_text(posts[0])
    assert "co-chaired" in text and "Tamm" in text and "Solheim" in text
    quotes = [b for b in params["blocks"] if b["type"] == "section" and b["text"]["text"].startswith(">")]
    assert quotes and all("[" in b["text"]["text"] for b in quotes)
    citations = [b for b in params["blocks"] if b["type"] == "context"][-1]["elements"][0]["text"]
    assert citations.startswith("[1] ") and "Baltic Ledger" in citations
    assert "*co-chaired*" in text  # question key words in bold
    actions = [b for b in params["blocks"] if b["type"] == "actions"][0]["elements"]
    assert {a["action_id"] for a in actions} == {ACTION_UP, ACTION_DOWN}
    assert params["text"]  # plain-text fallback
    assert fake.of("auth.test")  # bolt checked the token against the fake at start-up


def test_forged_or_stale_signature_gets_401_and_no_reply(bot: Bot, fake: FakeSlack) -> None:
    assert bot.post_event(mention("who co-chaired?"), secret="0" * 32) == 401
    assert bot.post_event(mention("who co-chaired?"), timestamp=int(time.time()) - 600) == 401
    time.sleep(0.5)
    assert fake.of("chat.postMessage") == []


def test_redelivered_event_is_answered_once(bot: Bot, fake: FakeSlack) -> None:
    event = mention("who co-chaired the session?")
    assert bot.post_event(event, event_id="EvDUP") == 200
    assert bot.post_event(event, event_id="EvDUP", headers={"X-Slack-Retry-Num": "1",
                                                             "X-Slack-Retry-Reason": "http_timeout"}) == 200
    fake.wait_calls("chat.postMessage", settle=1.0)
    assert len(fake.of("chat.postMessage")) == 1


def test_direct_message_is_answered(bot: Bot, fake: FakeSlack) -> None:
    bot.post_event(message("How many ships were delayed during the strike?", ts="1700000200.000100",
                           channel="D1", channel_type="im"), event_id="EvDM")
    post = fake.wait_calls("chat.postMessage")[0]
    assert post.params["channel"] == "D1" and "120 ships" in payload_text(post)


def test_thread_follow_up_without_mention(bot: Bot, fake: FakeSlack) -> None:
    bot.post_event(mention("who co-chaired the session?", ts="1700000300.000100"), event_id="Ev1")
    fake.wait_calls("chat.postMessage")
    bot.post_event(message("how many delegates attended?", ts="1700000301.000100", thread_ts="1700000300.000100"),
                   event_id="Ev2")
    bot.post_event(message("unrelated chatter about lunch", ts="1700000302.000100", thread_ts="1699999999.000001"),
                   event_id="Ev3")
    bot.post_event(message("top level chatter about delegates", ts="1700000303.000100"), event_id="Ev4")
    bot.post_event(message("bot talking", ts="1700000304.000100", thread_ts="1700000300.000100", bot_id="B2"),
                   event_id="Ev5")
    bot.post_event(message("me again", ts="1700000305.000100", thread_ts="1700000300.000100", user=BOT_USER),
                   event_id="Ev6")
    posts = fake.wait_calls("chat.postMessage", count=2, settle=1.0)
    assert len(posts) == 2
    assert posts[1].params["thread_ts"] == "1700000300.000100" and "60 delegates" in payload_text(posts[1])


def test_slash_command_is_ephemeral_with_share_button(bot: Bot, fake: FakeSlack) -> None:
    started = time.monotonic()
    assert bot.post_form(slash("who brokered the agreement?", fake)) == 200
    assert time.monotonic() - started < 3.0  # acknowledged within Slack's limit
    ephemeral = fake.wait_calls("chat.postEphemeral")[0]
    assert ephemeral.params["user"] == "U1" and "Lund" in payload_text(ephemeral)
    share = [e for b in ephemeral.params["blocks"] if b["type"] == "actions" for e in b["elements"]
             if e["action_id"] == ACTION_SHARE][0]
    assert bot.post_form({"payload": json.dumps(block_action(ACTION_SHARE, share["value"], fake))}) == 200
    shared = fake.wait_calls("chat.postMessage")[0]
    assert shared.params["channel"] == "C1" and "Lund" in payload_text(shared) and "<@U1>" in payload_text(shared)
    fake.wait_for(lambda: any(c.params.get("delete_original") for c in fake.of("response_url")))


def test_feedback_click_is_stored(bot: Bot, fake: FakeSlack) -> None:
    bot.post_event(mention("who brokered the agreement?"))
    post = fake.wait_calls("chat.postMessage")[0]
    up = [e for b in post.params["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == ACTION_UP][0]
    assert bot.post_form({"payload": json.dumps(block_action(ACTION_UP, up["value"], fake, user="U7"))}) == 200
    fake.wait_for(lambda: bool(bot.state.feedback()))
    row = bot.state.feedback()[0]
    assert row["user"] == "U7" and row["vote"] == 1 and row["question"] == "who brokered the agreement?"
    assert "port-aalborg-strike-2026-03#3" in row["answer_ids"]


def test_app_home_shows_what_the_bot_knows(bot: Bot, fake: FakeSlack) -> None:
    bot.post_event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}, event_id="EvHome")
    view = fake.wait_calls("views.publish")[0].params["view"]
    text = json.dumps(view)
    assert view["type"] == "home" and "*8* articles" in text and "2026-03-13" in text and "/citebot" in text


def test_rate_limited_post_is_retried_after_retry_after(bot: Bot, fake: FakeSlack) -> None:
    fake.failures["chat.postMessage"] = [(429, {"Retry-After": "1"})]
    bot.post_event(mention("who brokered the agreement?"))
    posts = fake.wait_calls("chat.postMessage", count=2, settle=0.5)
    assert len(posts) == 2 and posts[0].params == posts[1].params  # one 429, then the same message again


def test_article_markup_cannot_ping_or_forge_links(bot: Bot, fake: FakeSlack) -> None:
    bot.post_event(mention("harbour master alerts ferry timetable fares"))
    post = fake.wait_calls("chat.postMessage")[0]
    text = payload_text(post)
    assert "harbour master" in text.lower()
    assert "<!" not in text and "<@U123" not in text and "<#C999" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert "<https://ferry.example" not in text  # a URL with markup in it is not linked


def test_question_before_any_index(fake: FakeSlack, tmp_path: Path) -> None:
    settings = bot_settings(fake, tmp_path / "empty-index", FAKE_MODEL)
    with http_bot(fake, settings, service_for(settings)) as bot:
        bot.post_event(mention("who co-chaired?"))
        post = fake.wait_calls("chat.postMessage")[0]
        assert NO_INDEX.split(":")[0] in payload_text(post) and "citebot index build" in payload_text(post)
        assert post.params["thread_ts"]


def test_allowlist_declines_politely(fake: FakeSlack, index_dir: Path) -> None:
    settings = bot_settings(fake, index_dir, FAKE_MODEL, allowed_channels=frozenset({"COK"}))
    with http_bot(fake, settings, service_for(settings)) as bot:
        bot.post_event(mention("who co-chaired?", channel="C1"), event_id="EvA")
        bot.post_event(mention("who co-chaired?", channel="COK", ts="1700000500.000100"), event_id="EvB")
        posts = fake.wait_calls("chat.postMessage", count=2)
    by_channel = {p.params["channel"]: payload_text(p) for p in posts}
    assert "not enabled here" in by_channel["C1"] and "<#COK>" in by_channel["C1"]
    assert "Tamm" in by_channel["COK"]


def test_internal_error_says_something_went_wrong(fake: FakeSlack, index_dir: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    settings = bot_settings(fake, index_dir, FAKE_MODEL)

    def broken(name: str) -> HashEmbedder:
        raise RuntimeError("model exploded")

    with http_bot(fake, settings, service_for(settings, factory=broken)) as bot:
        bot.post_event(mention("who co-chaired?", ts="1700000600.000100"))
        post = fake.wait_calls("chat.postMessage")[0]
    assert post.params["text"] == SOMETHING_WRONG and post.params["thread_ts"] == "1700000600.000100"
    assert "model exploded" in caplog.text
    assert settings.slack_bot_token not in caplog.text


def test_socket_mode_mention_command_and_ack(fake: FakeSlack, index_dir: Path) -> None:
    settings = bot_settings(fake, index_dir, FAKE_MODEL)
    with socket_bot(fake, settings, service_for(settings)) as bot:
        assert fake.of("apps.connections.open")
        body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                "event_id": "EvS1", "event_time": int(time.time()),
                "event": mention("who co-chaired the session?", ts="1700000700.000100")}
        envelope = fake.send_envelope("events_api", body)
        fake.send_envelope("events_api", body, retry_attempt=1)  # a redelivery
        posts = fake.wait_calls("chat.postMessage", settle=1.0)
        assert len(posts) == 1 and posts[0].params["thread_ts"] == "1700000700.000100"
        assert "Tamm" in payload_text(posts[0])
        fake.wait_for(lambda: envelope in fake.acks)
        fake.send_envelope("slash_commands", slash("who brokered the agreement?", fake))
        assert "Lund" in payload_text(fake.wait_calls("chat.postEphemeral")[0])
        assert bot.state is not None


def test_a_question_limited_by_its_words_reads_this_week_against_the_message(bot: Bot, fake: FakeSlack) -> None:
    # Friday 13 March 2026: "this week" is Monday 9 to Friday 13 March, when the sample articles are dated
    assert bot.post_event(mention("who co-chaired the session this week?", ts="1773403200.000100"), event_id="EvWeek") == 200
    text = payload_text(fake.wait_calls("chat.postMessage")[0])
    assert "Articles since Mon 9 Mar 2026" in text and "Tamm" in text
    assert bot.post_event(mention("who co-chaired the session? source:\"Le Monde\"", ts="1773403300.000100"), event_id="EvSrc") == 200
    calls = fake.wait_calls("chat.postMessage", 2)
    assert "No articles from Le Monde in the index" in payload_text(calls[1])
