"""The on-topic question sets of bench/eval_rerank.py (needs ../shared; skipped without it)."""

from __future__ import annotations

import json

import pytest

from bench.corpora import SQUAD

pytestmark = pytest.mark.skipif(not SQUAD.is_file(), reason="../shared/eval is not present")


def test_ontopic_sets_ask_of_indexed_paragraphs_and_of_left_out_ones_the_index_never_answers() -> None:
    from bench.corpora import paragraph_number
    from bench.eval_rerank import ontopic_sets
    from bench.eval_squad import questions

    dev = questions(SQUAD)
    titles = sorted({q["title"] for q in dev})
    halves = {"even": set(titles[0::2]), "odd": set(titles[1::2])}
    data = {doc["title"]: doc["paragraphs"] for doc in json.loads(SQUAD.read_text(encoding="utf-8"))["data"]}
    sets = ontopic_sets(dev, halves, "even", 50)
    assert len(sets["ontopic+"]) == len(sets["ontopic-"]) == 50
    for q in sets["ontopic+"]:
        assert q["title"] in halves["even"] and paragraph_number(q["article"]) % 2 == 0
    for q in sets["ontopic-"]:
        assert q["title"] in halves["even"] and paragraph_number(q["article"]) % 2 == 1
        indexed = " ".join(p["context"] for p in data[q["title"]][0::2]).lower()
        assert q["answers"] and not any(a.lower() in indexed for a in q["answers"])
    again = ontopic_sets(dev, halves, "even", 50)
    assert [q["id"] for q in again["ontopic-"]] == [q["id"] for q in sets["ontopic-"]]  # a fixed sample
    other = ontopic_sets(dev, halves, "odd", 50)
    assert not {q["title"] for q in other["ontopic+"]} & halves["even"]
    everything = ontopic_sets(dev, halves, "even", 0)["ontopic-"]
    left_out = [q for q in dev if q["title"] in halves["even"] and paragraph_number(q["article"]) % 2 == 1]
    assert 0 < len(everything) < len(left_out)  # some left-out paragraphs' answers are stated elsewhere: not asked


def test_the_crowd_around_a_fold_holds_no_dev_paragraph_and_the_newsrooms_holds_them_all() -> None:
    from bench.eval_rerank import crowd
    from bench.eval_squad import questions

    dev_titles = {q["title"] for q in questions(SQUAD)}
    around_fold = crowd(with_dev=False)
    assert not {a.title for a in around_fold} & dev_titles  # the unrelated questions' answers stay out
    pages = [a for a in around_fold if a.path and a.path.endswith(".html")]
    assert len(pages) >= 25 and all(len(a.body) > 200 for a in pages)  # the real news pages, read as citebot reads them
    everything = crowd()
    dev_paragraphs = sum(len(doc["paragraphs"]) for doc in json.loads(SQUAD.read_text(encoding="utf-8"))["data"])
    assert len(everything) - len(around_fold) == dev_paragraphs  # the newsroom check's crowd: the dev half too
    assert len({a.id for a in everything}) == len(everything)
