"""The training script's helpers (train/reranker/; torch is installed by ./setup.sh)."""

from __future__ import annotations

import importlib
import random
import types

import pytest


@pytest.fixture(scope="module")
def train():  # type: ignore[no-untyped-def]
    """The training script's modules (train/reranker/), their names in one namespace."""
    names: dict[str, object] = {}
    for part in ("recipe", "data", "model", "run", "card", "train"):
        names.update(vars(importlib.import_module(f"train.reranker.{part}")))
    return types.SimpleNamespace(**names)


def test_swapped_replaces_a_name_with_one_the_window_never_mentions(train) -> None:  # type: ignore[no-untyped-def]
    window = "Tesla moved to New York in 1884 to work for Edison."
    pool = ["Edison", "Paris", "1882", "Tesla", "Westinghouse", "1884"]
    seen = set()
    for seed in range(40):
        changed = train.swapped("When did Tesla move to New York in 1884?", window, pool, random.Random(seed))
        assert changed is not None and changed != "When did Tesla move to New York in 1884?"
        seen.add(changed)
        assert "Edison" not in changed  # the window mentions him: swapping him in would still be answerable
    assert "When did Westinghouse move to New York in 1884?" in seen
    assert "When did Tesla move to New York in 1882?" in seen  # a number only for a number
    assert all("1884" in s or "1882" in s for s in seen)  # the year is only ever swapped for another year
    assert train.swapped("what is it?", window, pool, random.Random(0)) is None  # names nothing
    assert train.swapped("When did Tesla move?", window, ["Tesla", "Edison"], random.Random(0)) is None


def test_negated_puts_not_after_the_first_auxiliary(train) -> None:  # type: ignore[no-untyped-def]
    assert train.negated("What was the name of the ship?") == "What was not the name of the ship?"
    assert train.negated("When did the strike end?") == "When did not the strike end?"
    assert train.negated("Who won?") is None


def test_window_of_a_paragraph_keeps_its_neighbours_and_title(train) -> None:  # type: ignore[no-untyped-def]
    paragraph = {"title": "Super_Bowl_50", "sentences": ["A one.", "B two.", "C three."]}
    assert train.window_of(paragraph, 0) == "Super Bowl 50 | A one. B two."
    assert train.window_of(paragraph, 1) == "Super Bowl 50 | A one. B two. C three."
    assert train.window_of(paragraph, 2) == "Super Bowl 50 | B two. C three."
    for i, sentence in enumerate(paragraph["sentences"]):  # where the answer span's characters are counted from
        at = train.sentence_at(paragraph, i)
        assert train.window_of(paragraph, i)[at: at + len(sentence)] == sentence
    assert train.sentence_at({"title": "", "sentences": ["A one."]}, 0) == 0


def test_span_score_is_the_best_forward_span_within_the_limit_against_no_answer(train) -> None:  # type: ignore[no-untyped-def]
    import torch

    span_logits, span_score, SPAN_TOKENS = train.span_logits, train.span_score, train.SPAN_TOKENS
    width = SPAN_TOKENS + 10
    logits = torch.full((1, width, 2), -1.0)
    logits[0, 0] = torch.tensor([0.5, 0.5])  # [CLS]: no answer, 1.0 in all
    logits[0, 5, 0], logits[0, 7, 1] = 2.0, 2.0  # the span 5..7: 4.0
    logits[0, 3, 1], logits[0, 3, 0] = 3.0, 0.0  # 3..3 scores 3.0 (and 5..3 runs backwards)
    assert float(span_score(logits)[0]) == 3.0  # 4.0 - 1.0
    backwards = torch.full((1, width, 2), -1.0)
    backwards[0, 8, 0], backwards[0, 2, 1] = 5.0, 5.0  # an end before its start is no span
    backwards[0, 0] = torch.tensor([0.0, 0.0])
    assert float(span_score(backwards)[0]) == pytest.approx(4.0 - 0.0)  # 8..8 (5 - 1) or 2..2 (-1 + 5)
    too_long = torch.full((1, width, 2), -1.0)
    too_long[0, 1, 0], too_long[0, 1 + SPAN_TOKENS, 1] = 5.0, 5.0  # one token too long
    too_long[0, 0] = torch.tensor([0.0, 0.0])
    assert float(span_score(too_long)[0]) == pytest.approx(4.0)
    # where an answer may lie: the passage's tokens (type 1) but not its closing [SEP], and [CLS]
    types = torch.tensor([[0, 0, 0, 1, 1, 1, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0]])
    allowed = span_logits(torch.nn.Identity(), torch.zeros(1, 7, 2), types, mask)[0, :, 0] > -1
    assert allowed.tolist() == [True, False, False, True, True, False, False]


def test_answer_spans_map_to_their_tokens(train) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from citebot.index.embed.embedders import DEFAULT_MODEL, resolve_model

    sentence = "The session was co-chaired by Kristjan Tamm and Ingrid Solheim."
    text = train.passage(sentence, "Energy talks")
    at = len(text) - len(sentence) + sentence.index("Kristjan Tamm")
    long = train.passage("Many words came first in this sentence. " * 20 + sentence, "Energy talks")
    far = long.index("Kristjan Tamm")
    pairs = [train.Pair("Who co-chaired it?", text, 1, "a", "q1", False, span=(at, at + len("Kristjan Tamm"))),
             train.Pair("Who co-chaired it?", "Energy talks | Weather was fine.", 0, "a", "q1", False),
             train.Pair("Who co-chaired it?", long, 1, "a", "q2", False, span=(far, far + len("Kristjan Tamm")))]
    tokenizer = train.pair_tokenizer(str(Path(resolve_model(DEFAULT_MODEL)) / "tokenizer.json"))
    batch = train.batches_of(pairs, tokenizer)[0]
    row = {pairs[i].qid + str(pairs[i].label): r for r, i in enumerate(batch["rows"])}
    r = row["q11"]
    assert tokenizer.decode(batch["ids"][r][batch["start"][r]: batch["end"][r] + 1].tolist()) == "kristjan tamm"
    r = row["q10"]
    assert (batch["start"][r], batch["end"][r], batch["span_weight"][r]) == (0, 0, 1.0)  # no answer: [CLS]
    r = row["q21"]
    assert batch["span_weight"][r] == 0.0  # the answer was cut off with the passage: no span target


class BagOfWords:
    """The training script's encoder interface over the test embedder (no model)."""

    def encode(self, texts: list[str], **_: object):  # type: ignore[no-untyped-def]
        from citebot.index.embed.embedders import HashEmbedder

        return HashEmbedder().encode(texts)


def test_hard_recipe_weights_the_articles_other_paragraphs_and_skips_their_answer_text(train) -> None:  # type: ignore[no-untyped-def]
    def question(qid: str, text: str, pos: set[int], answers: list[str], impossible: bool = False) -> dict:  # type: ignore[type-arg]
        return {"id": qid, "q": text, "pos": pos, "impossible": impossible, "spans": {}, "answers": answers}

    paragraphs = [
        {"group": "Bridge", "title": "Bridge", "sentences": ["The bridge opened in 1990 over the river.", "It is long."],
         "questions": [question("q1", "When did the bridge open over the river?", {0}, ["1990"]),
                       question("q2", "When did the bridge close over the river?", set(), [], impossible=True)]},
        {"group": "Bridge", "title": "Bridge", "questions": [],
         "sentences": ["When did the bridge open over the river? In 1990.", "The bridge over the river did open with music.",
                       "Crowds came to the river when the bridge did open.", "The bridge over the river open day was cold."]},
        {"group": "Cats", "title": "Cats", "sentences": ["Cats sleep a lot."], "questions": []},
    ]

    def pairs_of(recipe) -> dict[tuple[str, str], tuple[int, float]]:  # type: ignore[no-untyped-def]
        made = train.make_pairs(paragraphs, BagOfWords(), random.Random(0), recipe)
        return {(p.qid, p.text.split(" | ", 1)[-1]): (p.label, p.weight) for p in made}

    shipped, hard = pairs_of(train.Recipe()), pairs_of(train.HARD)
    other = paragraphs[1]["sentences"]
    assert {w for _, w in shipped.values()} == {1.0}  # the shipped recipe weighs every pair alike
    assert sum(("q1", s) in shipped for s in other) == 2  # two of the other paragraph's sentences
    assert hard[("q1", "The bridge opened in 1990 over the river.")] == (1, 1.0)
    assert ("q1", other[0]) not in hard  # it holds the answer's text "1990": it may answer the question
    assert [hard[("q1", s)] for s in other[1:]] == [(0, 2.0)] * 3  # three, not two, and at twice the weight
    assert ("q1", "Cats sleep a lot.") in hard and hard[("q1", "Cats sleep a lot.")][1] == 1.0
    assert {w for (qid, _), (_, w) in hard.items() if qid == "q2"} == {2.0}  # written to be unanswerable


def test_a_gold_window_marks_its_answer_for_the_span_loss(train) -> None:  # type: ignore[no-untyped-def]
    sentences = ["The bridge was planned for years.", "It opened in 1990 over the river.", "It is long."]
    question = {"id": "q1", "q": "When did the bridge open?", "pos": {1}, "impossible": False,
                "spans": {1: (13, 17)}, "answers": ["1990"]}
    paragraphs = [{"group": "Bridge", "title": "Bridge", "sentences": sentences, "questions": [question]},
                  {"group": "Cats", "title": "Cats", "sentences": ["Cats sleep a lot."], "questions": []}]
    made = train.make_windows(paragraphs, BagOfWords(), random.Random(0))
    gold = [p for p in made if p.kind == "gold"]
    assert len(gold) == 1 and gold[0].label == 1
    start, end = gold[0].span
    assert gold[0].text[start:end] == "1990" and gold[0].text.startswith("Bridge | The bridge was planned")
    assert all(p.span is None for p in made if p.label == 0)  # a negative's target is [CLS]


def test_impossible_share_keeps_nested_subsets_of_about_that_size(train) -> None:  # type: ignore[no-untyped-def]
    ids = [f"5a{n:022x}" for n in range(4000)]  # SQuAD-like question ids
    quarter = {q for q in ids if train.kept(q, 0.25)}
    half = {q for q in ids if train.kept(q, 0.5)}
    assert quarter < half  # a smaller share's questions are among a larger one's: a learning curve, not resamples
    assert 900 < len(quarter) < 1100 and 1900 < len(half) < 2100
    assert not any(train.kept(q, 0.0) for q in ids) and all(train.kept(q, 1.0) for q in ids)
    state = random.getstate()
    assert {q for q in ids if train.kept(q, 0.25)} == quarter  # by id, not by a random stream:
    assert random.getstate() == state  # and without drawing from the random module


def test_card_records_the_recipe_options_a_run_changed(train) -> None:  # type: ignore[no-untyped-def]
    ap = train.parser()
    standard = ap.parse_args(["--task", "answer", "--runs", "even,odd", "--work", "/tmp/x", "--span", "0.5"])
    assert train.recipe_options(standard, ap) == {}  # where the model goes and how it is scored are not the recipe
    assert "options" not in train.card(4, "answer", 0.5, 1, train.recipe_options(standard, ap))  # as shipped
    changed = ap.parse_args(["--hard", "--impossible-share", "0.25", "--crowd-negatives", "2"])
    options = train.recipe_options(changed, ap)
    assert options == {"hard": True, "impossible_share": 0.25, "crowd_negatives": 2}
    info = train.card(4, "rank", 0.5, 2, options)
    assert info["options"] == options and info["task"] == "rank" and info["epochs"] == 2
