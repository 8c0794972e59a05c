"""The must-show case with the real model: "who co-chaired?" over the seed index, both modes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from citebot.index.ingest.files import load
from citebot.index.store.local.writer import write
from tests.conftest import seeds_or_skip
from tests.fake_slack import FakeSlack
from tests.slack_helpers import bot_settings, http_bot, mention, service_for, socket_bot

pytestmark = pytest.mark.model


@pytest.fixture
def seed_index(tmp_path: Path, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    directory = tmp_path / "seed-index"
    write(directory, real_embedder, load([seeds_or_skip()])[0], fresh=True)
    return directory


def assert_one_cited_answer(fake: FakeSlack, ts: str) -> None:
    posts = fake.wait_calls("chat.postMessage", timeout=60, settle=1.0)
    assert len(posts) == 1 and posts[0].params["thread_ts"] == ts
    blocks = posts[0].params["blocks"]
    quotes = " ".join(b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(">"))
    assert "Bhatia" in quotes and "Gruzdev" in quotes
    citations = [b for b in blocks if b["type"] == "context"][-1]["elements"][0]["text"]
    assert citations.startswith("[1] ") and "2025-08-0" in citations
    assert "<!" not in json.dumps(posts[0].params)


def test_http_mention_over_seed_index(fake: FakeSlack, seed_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = bot_settings(fake, seed_index, real_embedder.name)
    with http_bot(fake, settings, service_for(settings, real_embedder)) as bot:
        assert bot.post_event(mention("who co-chaired?", ts="1700000800.000100")) == 200
        assert_one_cited_answer(fake, "1700000800.000100")


def test_socket_mention_over_seed_index(fake: FakeSlack, seed_index: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    settings = bot_settings(fake, seed_index, real_embedder.name)
    with socket_bot(fake, settings, service_for(settings, real_embedder)):
        body = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "EvM1",
                "event_time": int(time.time()), "event": mention("who co-chaired?", ts="1700000900.000100")}
        fake.send_envelope("events_api", body)
        assert_one_cited_answer(fake, "1700000900.000100")
