"""Reranking stage, its configuration and the confidence it feeds (fake embedder, fake reranker)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from citebot.bot.answer import Answerer, evidence_signals
from citebot.bot.cli import run
from citebot.bot.confidence import confidence, default_threshold
from citebot.bot.config import ConfigError, Settings
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.words import terms
from citebot.index.records import Hit
from citebot.index.search.hybrid import HybridSearch, Retrieved, acronyms, missing, names
from citebot.index.search.rerank import make_reranker, rerank
from citebot.index.search.rerank_text import passage
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write


class WordReranker:
    """Deterministic stand-in: the logit is +4 when the passage holds ``word``, else ``no``; counts calls."""

    name = "fake:word"

    def __init__(self, word: str, no: float = -4.0, answerability: WordReranker | None = None) -> None:
        self.word = word
        self.no = no
        self.seen: list[str] = []
        self.answerability = answerability

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        self.seen += passages
        return np.asarray([4.0 if self.word in p else self.no for p in passages])


def hits(texts: list[tuple[str, str]]) -> Retrieved:
    found = [Hit(i, 1.0 - i / 10, t, a, 0, 0, len(t), f"Title {a}", None, None, None, None) for i, (t, a) in enumerate(texts)]
    return Retrieved(found, np.eye(len(texts), 8, dtype=np.float32), {"max_dense": 0.5})


def test_rerank_moves_the_answering_sentence_up_and_keeps_the_rest() -> None:
    retrieved = hits([("The session discussed minerals.", "a"), ("Minerals were on the session agenda.", "b"),
                      ("It was chaired by Ms Solheim.", "c"), ("Weather was fine.", "d")])
    out = rerank("Who chaired the session?", retrieved, WordReranker("Solheim"), top=3, weight=0.5)
    assert [h.article_id for h in out.hits] == ["c", "a", "b", "d"]  # d was not read: it stays last
    assert out.hits[0].extra == {"rerank": 4.0, "retrieval": pytest.approx(0.8)}
    assert out.hits[0].score == pytest.approx(0.8 + 0.5 * 4.0)
    assert "rerank" not in out.hits[3].extra
    assert out.signals["rerank_max"] == 4.0 and out.signals["rerank_top"] == 4.0 and out.signals["max_dense"] == 0.5
    assert np.array_equal(out.vectors[0], retrieved.vectors[2])  # vectors follow their hits (grouping uses them)


def test_rerank_reads_wire_copies_once_and_passes_the_title() -> None:
    reranker = WordReranker("80")
    retrieved = hits([("Around 80 delegates attended.", "a"), ("Around 80  delegates attended.", "b"), ("Steel rose.", "c")])
    out = rerank("How many delegates?", retrieved, reranker, top=10)
    assert reranker.seen == [passage("Around 80 delegates attended.", "Title a"), passage("Steel rose.", "Title c")]
    assert [h.extra["rerank"] for h in out.hits] == [4.0, 4.0, -4.0]


def test_passage_cuts_long_titles_and_cleans_underscores() -> None:
    assert passage("Text.", None) == "Text."
    assert passage("Text.", "Super_Bowl_50") == "Super Bowl 50 | Text."
    long = passage("Text.", " ".join(f"w{i}" for i in range(30)))
    assert long.startswith("w0 w1") and "w11 |" in long and "w12" not in long


def test_reranked_confidence_follows_the_reranker_not_word_counts() -> None:
    sure = {"rerank_max": 5.0, "max_dense": 0.6, "max_article": 0.5, "names_missing_any": 0.0, "words_missing_any": 0.0,
            "score_gap": 0.8}
    unsure = {**sure, "rerank_max": -8.0}
    assert confidence(sure) > 0.8 > default_threshold() > confidence(unsure)
    assert confidence({**sure, "names_missing_any": 1.0}) < confidence(sure)  # no candidate article mentions what was asked about
    assert confidence({**sure, "words_missing_any": 0.5}) < confidence(sure)
    assert confidence({**unsure, "known": 1.0, "covered": 1.0, "max_bm25": 30.0}) == confidence(unsure)


def test_answerer_with_a_reranker_shows_its_score_and_can_abstain(tmp_path: Path) -> None:
    articles = [make_article("The talks were chaired by Ingrid Solheim. The talks covered wind power and cables.", None, id="t"),
                make_article("Steel prices rose 18 per cent last year, analysts said.", None, id="s")]
    embedder = HashEmbedder(256)
    write(tmp_path / "ix", embedder, articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    result = Answerer(reader, embedder, reranker=WordReranker("Solheim")).ask("Who chaired the talks?")
    assert result.answers[0].text == "The talks were chaired by Ingrid Solheim."
    assert result.answers[0].rerank == 4.0 and result.answers[0].retrieval is not None
    assert not result.abstained and "rerank_max" in result.signals
    data = json.loads(json.dumps(result.to_dict()))
    assert data["answers"][0]["rerank"] == 4.0
    refused = Answerer(reader, embedder, reranker=WordReranker("nowhere", no=-12.0)).ask("Who chaired the talks?")
    assert refused.abstained and refused.answers  # the reranker says no sentence answers: abstain, show closest
    plain = Answerer(reader, embedder).ask("Who chaired the talks?")
    assert plain.answers[0].rerank is None and "rerank_max" not in plain.signals


def test_an_answerability_model_reads_the_best_sentences_window_and_moves_the_confidence(tmp_path: Path) -> None:
    text = "The talks opened on Monday. They were chaired by Ingrid Solheim. The talks covered wind power."
    articles = [make_article(text, None, id="t", title="Oslo talks"),
                make_article("Steel prices rose 18 per cent last year, analysts said.", None, id="s")]
    embedder = HashEmbedder(256)
    write(tmp_path / "ix", embedder, articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    yes, no = WordReranker("Monday", no=-6.0), WordReranker("nowhere", no=-6.0)
    sure = Answerer(reader, embedder, reranker=WordReranker("Solheim", answerability=yes)).ask("Who chaired the talks?")
    assert yes.seen == [passage(text, "Oslo talks")]  # the best sentence with its neighbours, titled: one pass
    assert sure.signals["answerable"] == 4.0 and sure.answers[0].text == "They were chaired by Ingrid Solheim."
    unsure = Answerer(reader, embedder, reranker=WordReranker("Solheim", answerability=no)).ask("Who chaired the talks?")
    assert unsure.signals["answerable"] == -6.0
    assert unsure.confidence < sure.confidence  # the window does not answer it: less sure of the same sentence
    assert confidence({k: v for k, v in sure.signals.items() if k != "answerable"}) != sure.confidence  # its own weights


@pytest.mark.parametrize(("raw", "expected"), [("", "builtin"), ("BUILTIN", "builtin"), (" none ", "none"),
                                               ("/models/my-cross-encoder", "/models/my-cross-encoder")])
def test_reranker_setting(raw: str, expected: str) -> None:
    assert Settings.from_env({"CITEBOT_RERANKER": raw}).reranker == expected
    assert Settings().reranker == "builtin"


def test_none_means_no_reranker_and_a_missing_artifact_is_a_clear_error(tmp_path: Path) -> None:
    assert make_reranker("none", tmp_path) is None
    with pytest.raises(Exception, match="not a file"):
        make_reranker(str(tmp_path / "nope.npz"), tmp_path)
    assert issubclass(ConfigError, Exception)


def test_cli_missing_reranker_artifact_exits_1_naming_it(fake_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["index", "build", str(Path(__file__).parent.parent / "examples" / "articles")], out=io.StringIO()) in (0, 3)
    monkeypatch.setenv("CITEBOT_RERANKER", str(fake_env.parent / "missing.npz"))
    assert run(["ask", "Who co-chaired the session?"], out=io.StringIO()) == 1
    assert "missing.npz, which is not a file" in capsys.readouterr().err


@pytest.mark.parametrize(("question", "text", "share"), [
    ("What is Alexey Gruzdev's position?", "H.E. Mr. Alexey Gruzdev, Deputy Minister of Industry and Trade", 0.0),
    ("What is the capital of Australia?", "The session was held in New Delhi.", 1.0),
    ("When did the Aalborg strike start in 2019?", "Dockworkers at the Port of Aalborg returned to work.", 0.5),
    ("Which ministry issued the statement?", "Anything at all.", 0.0),  # names nothing: no evidence either way
    ("Who chaired the 10th session?", "The meeting reviewed the progress made since the 10th session.", 0.0),
    ("How much is the EU contributing?", "Of which the European Union has pledged EUR 400 million.", 0.0),
    ("What did DPIIT sign?", "The Department for Promotion of Industry and Internal Trade signed it.", 0.0),
    ("What did the UN say?", "The union and the nations said nothing.", 1.0),  # spelled out means capitalised words
    ("What did the UN say?", "Each Unit said nothing; a United Airlines pilot was there.", 1.0),
])
def test_missing_names(question: str, text: str, share: float) -> None:
    """An answer's article must mention what the question names (people, places, numbers); an acronym
    also counts as mentioned where the text spells it out ("EU": "the European Union")."""
    assert missing(names(question), text, spelled=acronyms(question)) == share


def test_names_skip_the_question_word_and_keep_figures() -> None:
    assert names("Who won the 2022 FIFA World Cup final?") == ["2022", "fifa", "world", "cup"]
    assert names("How many delegates attended?") == []


def test_evidence_signals_read_every_candidate_article_and_the_likeliest_answers_type(tmp_path: Path) -> None:
    body = ("The 11th session was held in Tallinn on Monday. The talks reviewed progress since the 10th session. "
            "Delegates discussed offshore wind. The session was chaired by Ingrid Solheim.")
    embedder = HashEmbedder(256)
    articles = [make_article(body, None, id="t", title="Baltic energy talks"),
                make_article("The 10th session was held in Riga in 2019.", None, id="r", title="Archive")]
    write(tmp_path / "ix", embedder, articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    asked = "Who chaired the 10th session in Riga?"
    out = rerank(asked, HybridSearch(reader).search(asked, embedder.encode([asked])[0], 10), WordReranker("progress"))
    assert {h.article_id for h in out.hits if "rerank" in h.extra} == {"t", "r"}
    signals = evidence_signals(reader, asked, out)
    assert signals["type_missing"] == 1.0  # the sentence the reranker likes names no person
    assert signals["names_missing_any"] == 0.0  # an article the reranker read mentions both "10th" and "riga"
    assert signals["words_missing_any"] == pytest.approx(0.25)  # neither article has all of chaired/10th/session/riga
    assert signals["value_conflict"] == 0.0  # the likeliest answer states the 10th session
    chair = evidence_signals(reader, asked, rerank(asked, out, WordReranker("Solheim")))
    assert chair["type_missing"] == 0.0
    assert chair["value_conflict"] == 1.0  # "The session was chaired by …" in an article that reports the 11th
    assert evidence_signals(reader, "Who chaired the 11th session?", rerank(asked, out, WordReranker("Solheim")))[
        "value_conflict"] == 0.0
    elsewhere = evidence_signals(reader, "Who chaired the 10th session in Oslo?", out)
    assert elsewhere["names_missing_any"] == 0.5 and elsewhere["words_missing_any"] == 0.25  # "oslo" is in neither
    assert evidence_signals(reader, "Which wind was discussed?", out)["type_missing"] == 0.0  # no type asked


def test_question_terms_are_stems() -> None:
    assert terms("Which minerals were discussed at the talks?") == ["miner", "discuss", "talk"]


@pytest.mark.parametrize(("words", "text", "share"), [
    (["minister", "cable"], "The ministers discussed cables.", 0.0),  # an article word starting with it counts
    (terms("What was discussed?"), "Discussions went on.", 0.0),
    (["cable", "riga"], "Cables were laid near Tallinn.", 0.5),
    (["able"], "The cable is ready.", 1.0),  # only at the start of a word
    ([], "Anything.", 0.0),
])
def test_missing_words_as_word_starts(words: list[str], text: str, share: float) -> None:
    assert missing(words, text, whole_words=False) == share


def test_window_is_the_sentence_between_its_neighbours() -> None:
    from citebot.index.search.rerank_text import window

    assert window("B.", "A.", "C.") == "A. B. C."
    assert window("B.", None, "C.") == "B. C." and window("B.", "A.", None) == "A. B." and window("B.", None, None) == "B."
