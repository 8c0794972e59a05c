"""Relative dates in quotes resolved against the article's date, in renderings only."""

from __future__ import annotations

from datetime import date

import pytest

from citebot.bot.answer import Answer, Citation, Result
from citebot.bot.dates import annotate, resolve
from citebot.bot.render_text import render
from citebot.bot.slack.blocks import answer_blocks


@pytest.mark.parametrize(("text", "published", "expected"), [
    ("Officials on Wednesday held the 11th session.", "2025-08-06", "Officials on Wednesday (6 Aug 2025) held the 11th session."),
    ("Officials on Monday held talks.", "2025-08-06", "Officials on Monday (4 Aug 2025) held talks."),
    ("Talks will resume on Friday.", "2025-08-06", "Talks will resume on Friday (8 Aug 2025)."),
    ("Earlier in the day, Fomin met Kumar.", "2025-08-06T21:45:00", "Earlier in the day (6 Aug 2025), Fomin met Kumar."),
    ("The deal was signed yesterday.", "2026-03-13", "The deal was signed yesterday (12 Mar 2026)."),
    ("They met on Wednesday (August 6) in Delhi.", "2025-08-07", "They met on Wednesday (August 6) in Delhi."),
    ("Estonia agreed on Thursday, March 12 to act.", "2026-03-13", "Estonia agreed on Thursday, March 12 to act."),
    ("Officials on Wednesday held talks.", None, "Officials on Wednesday held talks."),
    ("Officials on Wednesday held talks.", "sometime", "Officials on Wednesday held talks."),
])
def test_annotate(text: str, published: str | None, expected: str) -> None:
    assert annotate(text, published) == expected


def test_resolve_gives_offsets_in_the_unchanged_quote() -> None:
    text = "On Tuesday, and again yesterday, they met."
    found = resolve(text, "2025-08-07")
    assert [(text[:end].split()[-1], day) for end, day in found] == [("Tuesday", date(2025, 8, 5)), ("yesterday", date(2025, 8, 6))]


def test_renderers_show_the_date_but_the_quote_and_json_stay_as_written() -> None:
    quote = "Officials on Wednesday held the 11th session."
    c = Citation("a", "Talks", "Wire", None, "2025-08-06", None, 0, 0, len(quote), quote)
    result = Result("When was the session held?", False, 0.9, [Answer(quote, 1.0, [c])])
    assert "Wednesday (6 Aug 2025)" in render(result)
    assert "Wednesday (6 Aug 2025)" in answer_blocks(result)[0]["text"]["text"]
    assert result.to_dict()["answers"][0]["text"] == quote and result.answers[0].citations[0].text == quote
