"""Answer assembly: hybrid ranking, corroboration grouping, context, confidence (fake embedder)."""

from __future__ import annotations

import numpy as np
import pytest

from citebot.bot.answer import Answerer, figures, group, same_fact
from citebot.bot.confidence import confidence
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.answer_types import answer_type, flags
from citebot.index.ingest.articles import make_article
from citebot.index.records import Hit
from citebot.index.search.hybrid import Retrieved
from tests.conftest import Stores


def hit(i: int, text: str, article: str) -> Hit:
    return Hit(i, 1.0 - i / 100, text, article, 0, 0, len(text), None, None, None, None, None)


def retrieved(texts: list[tuple[str, str]], vectors: np.ndarray) -> Retrieved:
    return Retrieved([hit(i, t, a) for i, (t, a) in enumerate(texts)], vectors)


@pytest.mark.parametrize(("a", "b"), [
    ("The US imposed a tariff of 25 per cent on Indian goods.", "The US imposed a tariff of 50 per cent on Indian goods."),
    ("Around 80 delegates attended the event.", "Around 60 delegates attended the event."),
    ("Trade reached $68.7 billion in 2024-25.", "Trade reached $68.7 billion in 2023-24."),
])
def test_different_figures_are_never_the_same_fact(a: str, b: str) -> None:
    assert figures(a) != figures(b)
    assert not same_fact(a, b, cosine=0.99)


def test_grouping_merges_across_articles_only_for_the_same_fact() -> None:
    texts = [
        ("Around 80 delegates attended the event.", "a1"),
        ("Approximately 80 delegates took part in the discussions.", "a2"),
        ("Around 80 delegates attended the event.", "a3"),
        ("The US tariff of 50 per cent hit exports.", "a4"),
        ("The US tariff of 25 per cent hit exports.", "a5"),
        ("Around 80 delegates attended the event.", "a1"),  # same article as the head: its own answer
    ]
    v = np.zeros((6, 4), np.float32)
    v[:3, 0] = 1.0
    v[3:5, 1] = 1.0
    v[5, 0] = 1.0
    groups = group(retrieved(texts, v))
    assert groups == [[0, 1, 2], [3], [4], [5]]


def test_confidence_is_a_probability_and_orders_signals() -> None:
    strong = {"max_dense": 0.85, "top5_dense": 0.75, "max_article": 0.5, "max_bm25": 8.0, "known": 1.0, "covered": 1.0,
              "score_gap": 1.2}
    weak = {"max_dense": 0.15, "top5_dense": 0.12, "max_article": 0.1, "max_bm25": 1.0, "known": 0.3, "covered": 0.0,
            "score_gap": 0.1}
    assert 0.0 <= confidence(weak) < 0.1 < 0.9 < confidence(strong) <= 1.0
    assert confidence({**strong, "score_gap": 0.2}) < confidence(strong)  # the best stands out less from the rest
    assert confidence({}) == 0.0


def test_answer_types() -> None:
    assert answer_type("When did the strike end?") & flags("It ended on 4 March 2026.")
    assert not answer_type("When did the strike end?") & flags("It ended after three rounds of talks.")
    assert answer_type("How many ships were delayed?") & flags("About 120 ships were delayed.")
    assert not answer_type("How many ships were delayed?") & flags("Ships were delayed.")
    assert answer_type("Who mediated?") & flags("It was brokered by the national mediator, Dr. Henrik Lund.")
    assert answer_type("Which minister spoke?") & flags("Said housing minister Yvette Cooper.")
    assert not answer_type("Who mediated?") & flags("The two sides welcomed engagement in aluminium.")
    assert answer_type("What minerals were discussed?") == 0


@pytest.fixture
def wire_index(stores: Stores):  # type: ignore[no-untyped-def]
    shared = "Around 80 delegates attended the event in the capital."
    articles = [
        make_article(f"The first story opens here. {shared} The ferry timetable was unchanged.", "one.txt"),
        make_article(f"Another outlet reports the news. {shared} Ministers praised the talks.", "two.txt"),
        make_article("The US raised its tariff to 50 per cent on Monday. The UK kept its tariff at 25 per cent.", "three.txt"),
    ]
    embedder = HashEmbedder(256)
    store = stores.open()
    store.write(embedder, articles, fresh=True)
    return store, embedder


def test_wire_copy_is_one_answer_with_verbatim_citations_and_context(wire_index) -> None:  # type: ignore[no-untyped-def]
    store, embedder = wire_index
    answerer = Answerer(store.reader(), embedder)
    result = answerer.ask("How many delegates attended the event in the capital?")
    top = result.answers[0]
    assert top.text == "Around 80 delegates attended the event in the capital."
    assert top.sources == 2 and [c.verbatim for c in top.citations] == [True, True]
    assert {c.path for c in top.citations} == {"one.txt", "two.txt"}
    assert {(top.context.before, top.context.after)} <= {
        ("The first story opens here.", "The ferry timetable was unchanged."),
        ("Another outlet reports the news.", "Ministers praised the talks."),
    }
    texts = [a.text for a in result.answers]
    assert texts.count("Around 80 delegates attended the event in the capital.") == 1


def test_figures_stay_separate_answers(wire_index) -> None:  # type: ignore[no-untyped-def]
    store, embedder = wire_index
    result = Answerer(store.reader(), embedder).ask("What tariff per cent?")
    tariff = [a for a in result.answers if "tariff" in a.text]
    assert len(tariff) == 2 and all(len(a.citations) == 1 for a in tariff)


def test_removed_article_is_gone_from_keyword_search_too(wire_index) -> None:  # type: ignore[no-untyped-def]
    store, embedder = wire_index
    three = make_article("The US raised its tariff to 50 per cent on Monday. The UK kept its tariff at 25 per cent.", "three.txt")
    store.write(embedder, removals=[three.id])
    reader = store.reader()
    result = Answerer(reader, embedder).ask("tariff per cent Monday UK US", top_k=20)
    assert all(c.article_id != three.id for a in result.answers for c in a.citations)
    assert reader.keyword_sentences(["tariff"], 10) == {}
    assert reader.keyword_articles(["tariff"], 10) == {}
    assert reader.coverage(["tariff"], None) == (0.0, 0.0)
