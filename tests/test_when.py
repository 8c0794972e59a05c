"""Time phrases in questions, resolved against a fixed reference date (index/search/when.py)."""

from __future__ import annotations

from datetime import date

import pytest

from citebot.index.search.when import find_range

THU = date(2025, 8, 7)  # a Thursday
MON = date(2025, 8, 4)  # a Monday
NEW_YEAR = date(2026, 1, 2)  # a Friday, just after a year boundary
LEAP = date(2024, 3, 1)  # the day after 29 February

CASES = [
    # (as of, question, since, until, what is left of the question)
    (THU, "What did the ministry say today?", date(2025, 8, 7), date(2025, 8, 7), "What did the ministry say?"),
    (THU, "What did the ministry say yesterday?", date(2025, 8, 6), date(2025, 8, 6), "What did the ministry say?"),
    (THU, "What did Reuters report this week?", date(2025, 8, 4), date(2025, 8, 7), "What did Reuters report?"),
    (MON, "What happened this week?", date(2025, 8, 4), date(2025, 8, 4), "What happened?"),
    (THU, "Who resigned last week?", date(2025, 7, 28), date(2025, 8, 3), "Who resigned?"),
    (MON, "Who resigned last week?", date(2025, 7, 28), date(2025, 8, 3), "Who resigned?"),
    (THU, "What was agreed this month?", date(2025, 8, 1), date(2025, 8, 7), "What was agreed?"),
    (THU, "What was agreed last month?", date(2025, 7, 1), date(2025, 7, 31), "What was agreed?"),
    (NEW_YEAR, "What was agreed last month?", date(2025, 12, 1), date(2025, 12, 31), "What was agreed?"),
    (THU, "How many strikes this year?", date(2025, 1, 1), date(2025, 8, 7), "How many strikes?"),
    (NEW_YEAR, "How many strikes last year?", date(2025, 1, 1), date(2025, 12, 31), "How many strikes?"),
    (NEW_YEAR, "How many strikes this year?", date(2026, 1, 1), date(2026, 1, 2), "How many strikes?"),
    (THU, "What did the minister announce in August?", date(2025, 8, 1), date(2025, 8, 7), "What did the minister announce?"),
    (NEW_YEAR, "What did the minister announce in August?", date(2025, 8, 1), date(2025, 8, 31), "What did the minister announce?"),
    (THU, "What was signed in September?", date(2024, 9, 1), date(2024, 9, 30), "What was signed?"),
    (THU, "What was signed in May?", date(2025, 5, 1), date(2025, 5, 31), "What was signed?"),
    (THU, "What has the ministry said since Monday?", date(2025, 8, 4), date(2025, 8, 7), "What has the ministry said?"),
    (MON, "What has the ministry said since Monday?", date(2025, 8, 4), date(2025, 8, 4), "What has the ministry said?"),
    (THU, "What has changed since Friday?", date(2025, 8, 1), date(2025, 8, 7), "What has changed?"),
    (THU, "What has changed since 1 August?", date(2025, 8, 1), date(2025, 8, 7), "What has changed?"),
    (THU, "What has changed since August 1?", date(2025, 8, 1), date(2025, 8, 7), "What has changed?"),
    (THU, "What happened on 6 August?", date(2025, 8, 6), date(2025, 8, 6), "What happened?"),
    (THU, "What happened on August 6th?", date(2025, 8, 6), date(2025, 8, 6), "What happened?"),
    (THU, "What happened on the 6th of August?", date(2025, 8, 6), date(2025, 8, 6), "What happened?"),
    (NEW_YEAR, "What happened on 6 August?", date(2025, 8, 6), date(2025, 8, 6), "What happened?"),
    (THU, "What happened on Wednesday?", date(2025, 8, 6), date(2025, 8, 6), "What happened?"),
    (THU, "What happened on Thursday?", date(2025, 8, 7), date(2025, 8, 7), "What happened?"),
    (THU, "What happened on last Thursday?", date(2025, 7, 31), date(2025, 7, 31), "What happened?"),
    (THU, "How many ships arrived in the past 3 days?", date(2025, 8, 5), date(2025, 8, 7), "How many ships arrived?"),
    (THU, "How many ships arrived in the last two weeks?", date(2025, 7, 25), date(2025, 8, 7), "How many ships arrived?"),
    (THU, "What changed over the past week?", date(2025, 8, 1), date(2025, 8, 7), "What changed?"),
    (THU, "What changed in the past month?", date(2025, 7, 7), date(2025, 8, 7), "What changed?"),
    (LEAP, "What happened yesterday?", date(2024, 2, 29), date(2024, 2, 29), "What happened?"),
    (LEAP, "What happened last month?", date(2024, 2, 1), date(2024, 2, 29), "What happened?"),
    (date(2025, 1, 15), "What was decided in December?", date(2024, 12, 1), date(2024, 12, 31), "What was decided?"),
]


@pytest.mark.parametrize(("as_of", "question", "since", "until", "rest"), CASES)
def test_time_phrases_resolve_against_the_reference_date(as_of: date, question: str, since: date, until: date, rest: str) -> None:
    found, left = find_range(question, as_of)
    assert found is not None, question
    assert (found.since, found.until, left) == (since, until, rest)


@pytest.mark.parametrize("question", [
    "Who co-chaired the session?",
    "What did Estonia and Norway agree at their March 2025 meeting?",  # a fact to match, not a publication date
    "What may happen to the tariffs?",
    "Who in May government resigned",  # not a month phrase a filter can stand on
    "How much did the 2024 budget grow?",
    "Who won in 2024?",  # a year: when it happened, not when it was reported
    "How much did US emissions fall in 2019?",
    "What was signed in March 2025?",
    "What happened on 6 August 2024?",
    "Where did Luther go on 17 July 1505?",
    "Which female anchor from Today joined Hugh Downs?",  # a programme's name
    "What is today's forecast?",
    "When is sports programming on Saturday afternoons?",  # a habit, not a day
    "Which week-long strike ended?",
    "What did the minister say in his 2024 report?",
])
def test_questions_without_a_time_filter_are_left_alone(question: str) -> None:
    assert find_range(question, THU) == (None, question)


def test_labels_read_as_dates() -> None:
    assert find_range("What happened since Monday?", THU)[0].label() == "since Mon 4 Aug 2025"  # type: ignore[union-attr]
    assert find_range("What happened yesterday?", THU)[0].label() == "on Wed 6 Aug 2025"  # type: ignore[union-attr]
    assert find_range("What was agreed last month?", NEW_YEAR)[0].label() == "1-31 Dec 2025"  # type: ignore[union-attr]
    assert find_range("What changed in the past month?", THU)[0].label() == "since Mon 7 Jul 2025"  # type: ignore[union-attr]
    assert find_range("What happened in August?", NEW_YEAR)[0].label() == "1-31 Aug 2025"  # type: ignore[union-attr]
