"""The values a question asks about, and sentences about another instance (index/search/values.py)."""

from __future__ import annotations

import pytest

from citebot.index.search.values import Value, value_conflict, values


def test_values_read_ordinals_years_ranges_and_numbers() -> None:
    assert values("The tenth session met in 2004-05 and 2010\u201311; the 3rd drew 3,000 people, 2.5 per cent") == [
        Value("ordinal", "10", "session"), Value("year", "2004", None), Value("year", "2005", None),
        Value("year", "2010", None), Value("year", "2011", None), Value("ordinal", "3", "drew"),
        Value("number", "3000", "people"), Value("number", "2.5", "per")]
    assert values("the 1990s, version3 and 12:30") == [Value("number", "12", None), Value("number", "30", None)]
    assert values("Sessions 4 and 5 of the sessions") == [Value("number", "4", None), Value("number", "5", "session")]


REPORT = "India, Russia hold 11th session\nSince the 10th session, trade grew. The session was co-chaired by X."


@pytest.mark.parametrize(("question", "sentence", "article", "conflict"), [
    ("Who chaired the 10th session?", "The 11th session was co-chaired by Ingrid Solheim.", "", True),
    ("Who chaired the 10th session?", "The tenth session was co-chaired by Ingrid Solheim.", "", False),  # the same value
    ("Who chaired the 10th session?", "It reviewed progress since the 10th session; the 11th session was chaired by X.", "", False),
    ("What did the 2002 Act grant?", "The 2012 Act conferred further fiscal devolution.", "", True),
    ("There are 231 seats in which chamber?", "There are 131 seats in the debating chamber.", "", True),
    ("Who was president in 1942?", "In 1940, Sarnoff became president.", "", False),  # "in 1942?" has no word after it
    ("What was not filmed since 2005?", "No full series was filmed in 2009.", "", False),
    ("Who won the 100 m race?", "She won the 200 m and the 100 m race.", "", False),
    # "the session" is the one the article introduced
    ("Who chaired the 10th session?", "The session was co-chaired by X.", REPORT, True),
    ("Who chaired the 11th session?", "The session was co-chaired by X.", REPORT, False),
    ("Who chaired the 10th session?", "The meeting was co-chaired by X.", REPORT, False),  # "session" is not named
    ("Who chaired the 10th session?", "The session was co-chaired by X.", "The session met in Delhi.", False),  # none introduced
    ("Who chaired the session?", "The 11th session was co-chaired by X.", "", False),  # no value asked
])
def test_value_conflict(question: str, sentence: str, article: str, conflict: bool) -> None:
    assert value_conflict(question, sentence, article) is conflict
