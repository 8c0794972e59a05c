"""bench/eval_rerank.py's confidence refit over saved records (synthetic records; no model, no ../shared)."""

from __future__ import annotations

import random
import re

import pytest

from bench.eval_rerank import fit_confidence, topic_set


def records(seed: int, with_topic: bool = True) -> dict:  # type: ignore[type-arg]
    """A fold's records: the signal "dense" separates the unrelated and SQuAD 2.0 sets, only "logit" the on-topic ones."""
    rng = random.Random(seed)

    def rec(answerable: int, dense: float, logit: float) -> dict:  # type: ignore[type-arg]
        return {"answerable": answerable, "signals": {"dense": dense + rng.gauss(0, 0.1), "logit": logit + rng.gauss(0, 0.1)}}

    fold = {"unrelated+": [rec(1, 1.0, rng.gauss(0, 1)) for _ in range(200)],
            "unrelated-": [rec(0, 0.0, rng.gauss(0, 1)) for _ in range(200)],
            "squad2": [rec(1, 1.0, rng.gauss(0, 1)) for _ in range(100)] + [rec(0, 0.2, rng.gauss(0, 1)) for _ in range(100)]}
    if with_topic:
        fold["ontopic+"] = [rec(1, 1.0, 1.0) for _ in range(100)]
        fold["ontopic-"] = [rec(0, 1.0, -1.0) for _ in range(100)]
    return fold


def on_topic_aurocs(output: str) -> list[float]:
    return [float(x) for x in re.findall(r"on topic AUROC ([0-9.]+)", output)]


def test_the_refit_scores_the_on_topic_sets_and_fits_on_them_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.eval_rerank import conf_sets

    recs = {"even": records(1), "odd": records(2)}
    names = ["dense", "logit"]
    x, y = topic_set(recs, "even", names)  # type: ignore[misc]
    assert x.shape == (200, 2) and y.sum() == 100
    fit_confidence(names, lambda f, n: conf_sets(recs, f, n), 0.2, lambda f, n: topic_set(recs, f, n))
    scored = on_topic_aurocs(capsys.readouterr().out)
    fit_confidence(names, lambda f, n: conf_sets(recs, f, n), 0.2, lambda f, n: topic_set(recs, f, n), fit_topic=True)
    fitted = on_topic_aurocs(capsys.readouterr().out)
    assert len(scored) == len(fitted) == 2  # cross-fitted: each fold scored by the other's fit
    assert max(scored) < 0.8 and min(fitted) > 0.95  # only a fit on them learns that "logit" separates them


def test_records_without_the_on_topic_sets_are_scored_without_them_and_cannot_be_fitted_on() -> None:
    from bench.eval_rerank import conf_sets

    recs = {"even": records(1, with_topic=False), "odd": records(2, with_topic=False)}
    assert topic_set(recs, "even", ["dense"]) is None
    fit_confidence(["dense"], lambda f, n: conf_sets(recs, f, n), 0.2, lambda f, n: topic_set(recs, f, n))
    with pytest.raises(SystemExit, match="no on-topic sets"):
        fit_confidence(["dense"], lambda f, n: conf_sets(recs, f, n), 0.2, lambda f, n: topic_set(recs, f, n), fit_topic=True)


def test_crowd_figures_abstain_at_the_point_the_small_index_sets() -> None:
    from bench.eval_rerank import crowd_figures

    dense = lambda signals: signals["dense"]  # noqa: E731
    fold = records(3)
    fold["crowd+"] = [{"answerable": 1, "signals": {**r["signals"], "dense": r["signals"]["dense"] - 0.3}} for r in fold["unrelated+"]]
    fold["crowd-"] = [{"answerable": 0, "signals": {"dense": 1.0 if i < 50 else 0.0, "logit": 0.0}} for i in range(200)]
    text = crowd_figures(fold, 0.5, dense)
    # a quarter of the crowded unrelated questions look as related as the answerable ones: answered at every threshold
    assert "abstains on 75.0% of unrelated (75.0% at the 97.5%-answered point" in text
    answered = float(re.search(r"where it answers ([0-9.]+)%", text).group(1))  # type: ignore[union-attr]
    assert answered < 50  # the point comes from the small index's answerable questions, not the crowded ones


def test_the_confidence_script_writes_its_card_and_the_card_is_what_answers_use(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json
    import shutil

    from citebot.bot import confidence as conf
    from train.confidence.fit import main

    card = tmp_path / "confidence.json"
    shutil.copy(conf.CARD, card)
    records = tmp_path / "records.json"
    records.write_text(json.dumps({"even": fold_records(1), "odd": fold_records(2)}), encoding="utf-8")
    assert main(["--records", str(records), "--model", "reranked", "--features", "dense,logit", "--fit-ontopic",
                 "--hold", "value_conflict", "--card", str(card)]) == 0
    written = json.loads(card.read_text(encoding="utf-8"))["models"]["reranked"]
    assert set(written["weights"]) == {"dense", "logit", "value_conflict"} and written["held"] == ["value_conflict"]
    assert written["weights"]["value_conflict"] == conf.model("reranked").weights["value_conflict"]  # held, not fitted
    assert written["weights"]["logit"] > 0 and "--model reranked" in written["fitted_by"]
    again = tmp_path / "again.json"
    shutil.copy(conf.CARD, again)
    main(["--records", str(records), "--model", "reranked", "--features", "dense,logit", "--fit-ontopic",
          "--hold", "value_conflict", "--card", str(again)])
    assert json.loads(again.read_text(encoding="utf-8"))["models"]["reranked"]["weights"] == written["weights"]  # reproducible
    shipped = json.loads(conf.CARD.read_text(encoding="utf-8"))["models"]
    for name, entry in shipped.items():  # what answering uses is exactly the card
        assert conf.model(name).weights == entry["weights"] and conf.model(name).bias == entry["bias"]


def fold_records(seed: int) -> dict:  # type: ignore[type-arg]
    """records() with the signal value_conflict present (held by the fit) beside dense and logit."""
    fold = records(seed)
    for recs in fold.values():
        for rec in recs:
            rec["signals"]["value_conflict"] = 0.0
    return fold
