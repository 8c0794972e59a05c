"""Sentence splitting: exact offsets, abbreviations, titles, datelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.ingest.sentences import split_article
from tests.conftest import SAMPLES, seeds_or_skip


def texts(body: str) -> list[str]:
    return [s.text for s in split_article(make_article(body, None))]


@pytest.mark.parametrize(
    "sentence",
    [
        "The session was co-chaired by H.E. Mr. Alexey Gruzdev, Deputy Minister of Industry and Trade.",
        "The U.S. imposed an additional tariff of 25 per cent on Indian goods.",
        "Bilateral trade grew from $1.4 billion in 1995 to $68.7 billion in the Financial Year 2024-25.",
        "Under Resolution No. 5 of the committee, each country will publish its share.",
        "The agreement was brokered by the national mediator, Dr. Henrik Lund, after 14 hours of talks.",
        "Trade in electricity grew from EUR 1.4 billion in 2020 to EUR 3.2 billion in 2025.",
    ],
)
def test_abbreviations_and_numbers_do_not_split(sentence: str) -> None:
    assert texts(f"It began on Monday. {sentence} It ended on Friday.") == [
        "It began on Monday.", sentence, "It ended on Friday."
    ]


def test_dateline_is_not_part_of_first_sentence() -> None:
    got = texts("NEW DELHI: India and Russia met on Wednesday. They signed a protocol.")
    assert got == ["India and Russia met on Wednesday.", "They signed a protocol."]


def test_sentence_positions_and_paragraphs() -> None:
    article = make_article("One two three four.\n\nFive six seven eight. Nine ten eleven twelve.", None)
    got = [(s.index, s.paragraph) for s in split_article(article)]
    assert got == [(0, 0), (1, 1), (2, 1)]


def test_repeated_sentences_get_their_own_offsets() -> None:
    body = "The vote passed easily. The vote passed easily. The vote passed easily."
    article = make_article(body, None)
    spans = [(s.char_start, s.char_end) for s in split_article(article)]
    assert spans == [(0, 23), (24, 47), (48, 71)]


def test_huge_paragraph_is_split_quickly_with_exact_offsets() -> None:
    body = " ".join(f"Sentence number {i} talks about the budget." for i in range(2000))
    article = make_article(body, None)
    sentences = split_article(article)
    assert len(sentences) == 2000
    assert all(body[s.char_start:s.char_end] == s.text for s in sentences)


def assert_offsets(paths: list[Path]) -> int:
    articles, skipped = load(paths)
    assert not skipped
    count = 0
    for article in articles:
        for s in split_article(article):
            assert article.body[s.char_start:s.char_end] == s.text
            assert s.text == s.text.strip() and s.text
            count += 1
    return count


def test_offsets_invariant_on_samples() -> None:
    assert assert_offsets([SAMPLES]) > 30


def test_offsets_invariant_on_seeds() -> None:
    assert assert_offsets([seeds_or_skip()]) > 50


def test_no_boilerplate_sentence_in_seeds() -> None:
    articles, _ = load([seeds_or_skip()])
    everything = [s.text for a in articles for s in split_article(a)]
    for marker in ("Listen to This Article", "First Published", "Photo:", "syndicated feed",
                   "Last Updated", "\u0939\u093f\u0902\u0926\u0940", "Press Trust of India New Delhi"):
        assert not any(marker in t for t in everything), marker
    assert not any(t.startswith(" date") or t.startswith("date 2025") for t in everything)


def stock_pysbd_agrees(paths: list[Path]) -> int:
    """Our pysbd subclass (no per-sentence regex) returns exactly what stock pysbd returns."""
    import pysbd

    from citebot.index.ingest.sentences import _segmenter

    stock = pysbd.Segmenter(language="en", clean=False)
    articles, _ = load(paths)
    paragraphs = [a.body[s:e] for a in articles for s, e in a.content_spans]
    paragraphs += ["Same words. Same words. Same words.", "  Leading space. Then (a) list: no. 5 items...  Trailing.  ",
                   "He said: \"It is done.\" Then he left. U.S. officials agreed."]
    for text in paragraphs:
        assert _segmenter().segment(text) == stock.segment(text), text
    return len(paragraphs)


def test_fast_pysbd_matches_stock_pysbd_on_samples() -> None:
    assert stock_pysbd_agrees([SAMPLES]) > 30


def test_fast_pysbd_matches_stock_pysbd_on_seeds() -> None:
    assert stock_pysbd_agrees([seeds_or_skip()]) > 40
