"""Questions in other languages are recognised (and English ones never refused)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citebot.bot.language import detect
from tests.conftest import ROOT

ENGLISH = [
    "Who co-chaired the session?", "What minerals were discussed?", "Who is Ban Ki-moon meeting in El Paso?",
    "What did Le Pen say in La Paz?", "How much will the subsea cable cost?", "Was the strike in Aalborg over?",
    "Did Kahan and Ko sign the deal?", "When does the session of the Riksdag start?",
    "Who chairs the Bundestag committee?", "Which minister visited São Paulo?", "Who is 習近平 meeting?",
]
OTHER = [
    ("सत्र की सह-अध्यक्षता किसने की?", "hi"),
    ("Session ko kisne co-chair kiya?", "hi-Latn"),
    ("India aur Russia ke beech kya samjhauta hua?", "hi-Latn"),
    ("Kaun se minerals ke baare mein baat hui?", "hi-Latn"),
    ("Кто был сопредседателем сессии?", "ru"),
    ("¿Quién copresidió la sesión?", "es"),
    ("Qui a coprésidé la session et quand?", "fr"),
    ("Wer hat die Sitzung geleitet und wann?", "de"),
    ("会议由谁主持？", "zh"),
]


@pytest.mark.parametrize("question", ENGLISH)
def test_english_questions_are_english(question: str) -> None:
    assert detect(question).english, detect(question)


@pytest.mark.parametrize(("question", "code"), OTHER)
def test_other_languages_are_named(question: str, code: str) -> None:
    found = detect(question)
    assert found.code == code and not found.english
    assert found.notice() == f"citebot answers questions in English; this one looks like {found.name}."


def test_the_projects_questions_are_all_english() -> None:
    questions = []
    for name in ("tests/qa_samples.json", "bench/newsroom_questions.json"):
        data = json.loads((ROOT / name).read_text(encoding="utf-8"))
        questions += [q if isinstance(q, str) else q["q"] for group in data.values() if isinstance(group, list) for q in group]
    assert len(questions) >= 40 and [q for q in questions if not detect(q).english] == []


def test_squad_questions_are_all_english() -> None:
    eval_dir = ROOT.parent / "shared" / "eval"
    if not eval_dir.is_dir():
        pytest.skip("../shared/eval is not present")
    questions = [qa["question"] for name in ("squad-v1.1-dev-a.json", "squad-v2.0-train-10.json")
                 for article in json.loads((eval_dir / name).read_text(encoding="utf-8"))["data"]
                 for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    assert len(questions) > 10_000 and [q for q in questions if not detect(q).english] == []


def test_a_question_in_hindi_gets_the_notice_and_its_closest_matches(sample_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from citebot.bot.answer import Answerer
    from citebot.bot.render_text import render
    from citebot.bot.slack.blocks import answer_blocks
    from citebot.index.store.local.reader import IndexReader

    answerer = Answerer(IndexReader.open(sample_index), embedder)
    result = answerer.ask("Session ko kisne co-chair kiya? Tamm")
    assert result.abstained and result.language == "hi-Latn" and result.answers
    assert result.to_dict()["notice"] == "citebot answers questions in English; this one looks like Hindi (in Latin script)."
    text = render(result)
    assert "looks like Hindi" in text and "do not answer" not in text and "Closest matches" in text
    assert "looks like Hindi" in json.dumps(answer_blocks(result))
    english = answerer.ask("Who co-chaired the session?")
    assert english.language == "en" and english.notice is None
