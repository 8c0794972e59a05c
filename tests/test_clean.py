"""Recognising prose, boilerplate and metadata in messy article text."""

from __future__ import annotations

import pytest

from citebot.index.ingest.clean import dateline_length, find_structure, is_boilerplate, iso_date, parse_date


def prose(body: str) -> list[str]:
    return [body[s:e] for s, e in find_structure(body).spans]


def test_date_prefix_is_metadata_not_prose() -> None:
    body = " date 2025-08-06 NEW DELHI: India and Russia met on Wednesday.\n\nSecond paragraph here."
    found = find_structure(body)
    assert found.published == "2025-08-06"
    assert prose(body) == ["India and Russia met on Wednesday.", "Second paragraph here."]


@pytest.mark.parametrize(
    "line",
    [
        "Listen to This Article",
        "First Published: Aug 06 2025 | 9:38 PM IST",
        "Last Updated : Aug 06 2025 | 9:38 PM IST",
        "The meeting was held in the backdrop of tariffs. | Photo: Shutterstock",
        "Photo: Climate ministry handout",
        "(Only the headline and picture of this report may have been reworked by the Business Standard staff;"
        " the rest of the content is auto-generated from a syndicated feed.)",
        "Also read: Baltic grid operators test island mode",
    ],
)
def test_boilerplate_lines(line: str) -> None:
    assert is_boilerplate(line)
    assert prose("Real prose sentence about a meeting.\n" + line) == ["Real prose sentence about a meeting."]


def test_real_sentences_are_not_boilerplate() -> None:
    for line in [
        "The ministry said the session was published in the gazette.",
        "Officials listened to the article's authors at length.",
    ]:
        assert not is_boilerplate(line)


def test_title_date_line_and_outlet() -> None:
    body = (
        "\nIndia, Russia sign protocol to deepen cooperation\nAug 06, 2025\n"
        "New Delhi [India], August 6 : The session was held here on Wednesday.\n"
        "Press Trust of India New Delhi\n"
        "(Only the headline and picture of this report may have been reworked by the Business Standard staff; "
        "the rest of the content is auto-generated from a syndicated feed.)\n"
    )
    found = find_structure(body)
    assert found.title == "India, Russia sign protocol to deepen cooperation"
    assert found.published == "2025-08-06"
    assert found.source == "Business Standard"
    assert prose(body) == ["The session was held here on Wednesday."]


def test_other_script_link_text_and_repeated_teaser_are_dropped() -> None:
    body = (
        "Wednesday, August 06, 2025 | 09:45 PM IST\u0939\u093f\u0902\u0926\u0940 \u092e\u0947\u0902 \u092a\u0922\u0947\u0902\n"
        "India, Russia to collaborate on rare earths\n"
        "The issue came up for discussions during the meeting, which was held here under the\n"
        "India, Russia to collaborate on rare earths\n"
        "The issue came up for discussions during the meeting, which was held here under the framework.\n"
        "\u0427\u0438\u0442\u0430\u0442\u044c \u043d\u0430 \u0440\u0443\u0441\u0441\u043a\u043e\u043c\n"
    )
    found = find_structure(body)
    assert found.title == "India, Russia to collaborate on rare earths"
    assert prose(body) == ["The issue came up for discussions during the meeting, which was held here under the framework."]


def test_subheadings_after_prose_are_not_titles_or_prose() -> None:
    body = "First paragraph of the story is here.\n\nIndia, Russia sign protocol\n\nMore prose follows here."
    found = find_structure(body)
    assert found.title is None
    assert prose(body) == ["First paragraph of the story is here.", "More prose follows here."]


@pytest.mark.parametrize(
    ("line", "dateline"),
    [
        ("NEW DELHI: India and Russia met.", "NEW DELHI: "),
        ("New Delhi [India], August 6 : The session was held.", "New Delhi [India], August 6 : "),
        ("TALLINN (NW) - The session was held.", "TALLINN (NW) - "),
        ("U.S. officials said: nothing.", ""),
        ("The ministry said: Both sides agreed.", ""),
    ],
)
def test_datelines(line: str, dateline: str) -> None:
    assert line[: dateline_length(line)] == dateline


def test_dates() -> None:
    assert parse_date("Wednesday, August 06, 2025 | 09:45 PM IST") == "2025-08-06"
    assert iso_date("2026-03-10T17:00:00Z") == "2026-03-10"
    assert iso_date("2026-13-45") is None
    assert iso_date(20260310) is None
    assert parse_date("The committee has 12 members") is None


@pytest.mark.parametrize(
    ("body", "outlet", "first"),
    [
        ("NEW DELHI: The session was co-chaired by Alexey Gruzdev (PIB)\n\nMore text here.", "Press Information Bureau",
         "The session was co-chaired by Alexey Gruzdev"),
        ("TALLINN: Estonia and Norway agreed on Thursday (BNS)\n\nMore text.", "Baltic News Service",
         "Estonia and Norway agreed on Thursday"),
        ("LONDON (Reuters) - The pound fell on Monday.\n\nTraders said so.", "Reuters", "The pound fell on Monday."),
        ("MOSCOW, Aug 6 (PTI): Russia said it will talk.\n\nMore text here.", "Press Trust of India",
         "Russia said it will talk."),
        ("The talks ended on Friday.\n\nBoth sides signed. \u2014 AFP", "Agence France-Presse", "The talks ended on Friday."),
        ("The talks ended on Friday.\n\nBoth sides signed.\n\n(With inputs from IANS)", "Indo-Asian News Service",
         "The talks ended on Friday."),
        ("Press Trust of India New Delhi\n\nIndia and Russia are exploring opportunities.", "Press Trust of India",
         "India and Russia are exploring opportunities."),
    ],
)
def test_outlet_from_agency_credits(body: str, outlet: str, first: str) -> None:
    found = find_structure(body)
    assert found.source == outlet and prose(body)[0] == first  # the credit is metadata, not quoted prose


@pytest.mark.parametrize(
    "body",
    [
        "The Department for Promotion of Industry and Internal Trade (DPIIT)\n\nmet on Friday.",
        "He said the alliance would grow (NATO).\n\nMore text.",
        "The vote was 5-4 on Friday.\n\nPrices rose (see chart)",
        "The Ministry of Commerce and Industry, in a statement, said the meeting went well.",
    ],
)
def test_abbreviations_and_asides_are_not_outlets(body: str) -> None:
    assert find_structure(body).source is None


def test_outlets_of_the_seeds_and_samples() -> None:
    from citebot.index.ingest.files import load
    from tests.conftest import SAMPLES, SEEDS

    sources = {a.path.rsplit("/", 1)[-1]: a.source for a in load([SAMPLES])[0] if a.path}
    assert sources["001_tallinn_wire.txt"] == "Baltic News Service"  # "(BNS)" closing the first paragraph
    if SEEDS.is_dir():
        seeds = {a.path.rsplit("/", 1)[-1][:3]: a.source for a in load([SEEDS])[0] if a.path}
        assert seeds["000"] == "Press Information Bureau" and seeds["003"] == "Business Standard"
        assert seeds["001"] is None and seeds["004"] is None  # they name no outlet: cited by file name
