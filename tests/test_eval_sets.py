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
