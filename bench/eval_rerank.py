"""Cross-validated figures of the reranker and the confidence, split by article.

    .venv/bin/python train/reranker/train.py --runs even,odd     # fold artifacts in /tmp/citebot-train
    .venv/bin/python -m bench.eval_rerank [--per-fold 600] [--reuse] [--fit]
    .venv/bin/python -m bench.eval_rerank --records --fit --features rerank_max,max_dense,...   # refit only
    .venv/bin/python -m bench.eval_rerank --records --fit --fit-ontopic   # refit on the on-topic sets too
    .venv/bin/python -m bench.eval_rerank --records --fit-one value_conflict   # one weight, the others held
    .venv/bin/python -m bench.eval_rerank --folds even --folds-dir /tmp/try --baseline /tmp/citebot-eval/rerank-records.json
                                     # a quick check of one new fold model against a saved run, same questions

Every SQuAD question is scored by the fold model that never saw its article: "even" was trained
without the even-numbered articles of squad-v1.1-dev-a (sorted titles; bench/eval_squad.py's
halves), "odd" without the odd ones. Per fold:
  retrieval    questions of the fold's articles over the index of all 24 articles: MRR@10, R@1,
               R@5, R@10 of the gold sentence, hybrid alone and hybrid + reranker
  unrelated    the index of the fold's half only: its own questions (answerable) and the other
               half's (unrelated, must abstain)
  squad2       squad-v2.0-dev-c.json (6 articles) indexed: its questions of the fold's articles,
               answerable vs written-to-be-unanswerable (is_impossible): AUROC of the confidence
  ontopic      the fold's articles with every other paragraph indexed (the even-numbered ones): questions
               of the indexed paragraphs (answerable) against those of the left-out ones whose answer no
               indexed paragraph of the article states (on topic, not answered: as a search engine's
               question over a summary that says nothing about it). Not fitted on: a check of
               how the confidence carries to a kind of unanswerable question it was not fitted on
  crowd        (--crowd) the unrelated sets' questions again, the fold's half indexed among ~730 other
               articles (crowd(): the ten SQuAD training articles' paragraphs, the 30 real news pages):
               how the confidence, fitted on small indexes, carries to a larger collection. Not fitted on
Then the confidence model (index/models/confidence.json) is fitted on the pooled
out-of-fold scores (--fit prints it; --features chooses the signals) and checked cross-fitted (fit on
one fold, scored on the other; the on-topic sets are scored too, and --fit-ontopic fits on them as well);
--fit-one fits one signal's weight alone, the others held. Every
question's retrieval, logits, signals and the texts of the sentences the reranker read are kept in
--work/rerank-records.json; --records refits from them without scoring again. Finally our newsroom
questions (bench/newsroom_questions.json, never trained on) over the project's samples and
../shared/seeds with the shipped reranker. --folds even scores one fold only (the same sampled
questions as a full run; no cross-fitting); --baseline prints a saved run's figures on the same
questions beside them (a paired comparison: the differences are far less noisy than either figure;
the newsroom check is skipped). --rerank-top N reads N candidates instead of the shipped 10.
--crowd also asks the newsroom questions with the news among ~1,900 other articles (crowd(): the dev
half's paragraphs too); with --records it scores the crowd sets the saved records lack and adds them.
--answer-dir D also scores the fold answerability models in D (train.py --task answer): the signal
"answerable" of the shipped confidence (its model "answerable", used when records have it), which --fit
--features can include.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.corpora import ROOT, SHARED, SQUAD, SQUAD_TRAIN, model_cache, paragraph_number, squad_articles
from bench.eval_squad import auroc, build, fit_logistic, questions
from bench.timing import p50_p90
from citebot.bot.answer import GROUP_POOL, Answerer, evidence_signals
from citebot.bot.confidence import confidence, default_threshold
from citebot.bot.confidence import model as confidence_model
from citebot.index.embed.choose import query_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.ingest.files import load
from citebot.index.records import Article
from citebot.index.search.hybrid import score_gap
from citebot.index.search.rerank import (
    ARTIFACT,
    BUILTIN,
    FUSE_WEIGHT,
    RERANK_TOP,
    OnnxReranker,
    Reranker,
    answerable,
    export,
    export_dir,
    has_export,
    make_reranker,
    rerank,
)
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write

SQUAD2 = SHARED / "eval" / "squad-v2.0-dev-c.json"
FOLDS = ("even", "odd")
RERANKED = confidence_model("reranked")
RERANKED_WEIGHTS, RERANKED_BIAS = RERANKED.weights, RERANKED.bias
DEFAULT_ABSTAIN_BELOW = default_threshold()
FEATURES = list(RERANKED_WEIGHTS)
ANSWERED = 0.975  # the share of answerable questions the default threshold answers (the goal: >= 97%)
GRID = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0)


def reranker_for(work: Path, artifact: Path, pairs_in_parallel: bool = True) -> OnnxReranker:
    if not has_export(work, artifact):
        export(work, artifact)
    return OnnxReranker(export_dir(model_cache(), artifact), pairs_in_parallel=pairs_in_parallel)


def shipped_reranker(work: Path, artifact: Path) -> Reranker | None:
    """The reranker the newsroom check asks with, as `citebot ask` has it: the shipped one with its
    answerability model (another --artifact alone)."""
    return make_reranker(BUILTIN if artifact == ARTIFACT else str(artifact), model_cache())


def record(answerer: Answerer, reranker: OnnxReranker, q: dict, top: int = RERANK_TOP,  # type: ignore[type-arg]
           answerability: OnnxReranker | None = None) -> dict:  # type: ignore[type-arg]
    """Retrieval then reranker logits in retrieval order (weight 0), signals, and per hit: gold (holds
    the annotated answer), home (from the question's own paragraph), states (contains a gold answer's text);
    the texts of the hits the reranker read (for trying a new signal on the records alone)."""
    vector = answerer.embedder.encode([q["question"]])[0]
    retrieved = answerer.search.search(q["question"], vector, GROUP_POOL)
    t0 = time.perf_counter()
    reranked = rerank(q["question"], retrieved, reranker, top=top, weight=0.0)
    if answerability is not None:
        reranked.signals["answerable"] = answerable(answerer.reader, answerability, q["question"], reranked)
    ms = 1000 * (time.perf_counter() - t0)  # the reranker's (and an answerability model's) passes
    reranked.signals.update(evidence_signals(answerer.reader, q["question"], reranked))
    hits = reranked.hits
    gold = [h.article_id == q["article"] and any(h.char_start <= s < h.char_end for s in q["starts"]) for h in hits]
    head = sum(1 for h in hits if "rerank" in h.extra)
    return {"q": q["question"], "retrieval": [h.score if "rerank" not in h.extra else h.extra["retrieval"] for h in hits],
            "logit": [h.extra["rerank"] for h in hits[:head]], "gold": gold, "head": head,
            "home": [h.article_id == q["article"] for h in hits],
            "texts": [h.text for h in hits[:head]],
            "states": [any(t.lower() in h.text.lower() for t in q.get("answers", [])) for h in hits],
            "signals": reranked.signals, "ms": ms}


def order_after(rec: dict, weight: float) -> list[int]:  # type: ignore[type-arg]
    """The hits' order after fusing the reranker's logits with ``weight``."""
    head = rec["head"]
    fused = np.asarray(rec["retrieval"][:head]) + weight * np.asarray(rec["logit"])
    return [int(i) for i in np.argsort(-fused, kind="stable")] + list(range(head, len(rec["gold"])))


def rank_after(rec: dict, weight: float) -> int | None:  # type: ignore[type-arg]
    for r, i in enumerate(order_after(rec, weight)[:10], start=1):
        if rec["gold"][i]:
            return r
    return None


def first_misses(recs: list[dict], weight: float) -> str:  # type: ignore[type-arg]
    """What the first sentence is when it is not the annotated one: from another paragraph (SQuAD
    questions written for one paragraph, "When was this edict declared?"), or stating a gold answer's
    text anyway (SQuAD repeats facts across paragraphs): how much of MRR@10's shortfall is the test's."""
    if not recs or "home" not in recs[0]:
        return "(records without per-hit paragraph flags)"
    tops = [(r, order_after(r, weight)[0]) for r in recs]
    missed = [(r, i) for r, i in tops if not r["gold"][i]]
    elsewhere = sum(not r["home"][i] for r, i in missed)
    stating = sum(r["states"][i] for r, i in missed)
    return (f"first sentence not the annotated one for {len(missed)}/{len(recs)}: from another paragraph {elsewhere}, "
            f"stating a gold answer's text {stating} (R@1 counting those: {(len(recs) - len(missed) + stating) / len(recs):.3f})")


def metrics(recs: list[dict], weight: float) -> dict[str, float]:  # type: ignore[type-arg]
    ranks = [rank_after(r, weight) for r in recs]
    n = max(1, len(ranks))
    return {"MRR@10": sum(1 / r for r in ranks if r) / n, "R@1": sum(r == 1 for r in ranks) / n,
            "R@5": sum(bool(r and r <= 5) for r in ranks) / n, "R@10": sum(bool(r) for r in ranks) / n}


def features(recs: list[dict], names: list[str] = FEATURES) -> np.ndarray:  # type: ignore[type-arg]
    return np.asarray([[signals_of(r).get(k, 0.0) for k in names] for r in recs])


def signals_of(rec: dict) -> dict[str, float]:  # type: ignore[type-arg]
    """A record's signals; records scored before score_gap existed get it from their retrieval scores
    (the fused scores it is computed from, best first)."""
    if "score_gap" in rec["signals"] or "retrieval" not in rec:
        return rec["signals"]
    return {**rec["signals"], "score_gap": score_gap(np.asarray(rec["retrieval"]))}


def confidence_of(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ w + b)))


def index_of(work: Path, name: str, path: Path, titles: set[str] | None, reuse: bool,
             keep: Callable[[Article], bool] | None = None, others: Callable[[], list[Article]] | None = None) -> Path:
    """The index ``name`` in ``work`` of the SQuAD paragraphs of ``titles`` that ``keep`` accepts, and
    ``others()``' articles beside them; built unless ``reuse`` finds it."""
    directory = work / name
    if not (reuse and (directory / "CURRENT").exists()):
        build(directory, path, titles, DEFAULT_MODEL, keep=keep, others=others() if others else ())
    return directory


def answerer_at(directory: Path) -> Answerer:
    return Answerer(IndexReader.open(directory, model=DEFAULT_MODEL), query_embedder(DEFAULT_MODEL, model_cache()), top_k=10)


def crowd(with_dev: bool = True) -> list[Article]:
    """Articles for the questions' own to be found among (--crowd): every paragraph of the ten SQuAD
    training articles as an article of its own, the 30 real news pages of ../shared/extraction as citebot
    reads them and (``with_dev``, for the newsroom questions: about 1,900 articles in all) every paragraph
    of the SQuAD dev half. None of them is about the questions' events; the SQuAD training articles are
    in the rerankers' training data (questions and sentences of their own: other topics)."""
    pages = SHARED / "extraction" / "pages"
    return [*(squad_articles(SQUAD) if with_dev else []), *squad_articles(SQUAD_TRAIN),
            *(load([pages])[0] if pages.is_dir() else [])]


def newsroom(reranker: Reranker | None, work: Path, reuse: bool, crowded: bool = False) -> None:
    """Our own newsroom questions over the samples, the seeds and the real pages of ../shared/extraction,
    with the shipped reranker (or --artifact);
    crowded: over each of them among crowd()'s articles instead (one index each), as in a newsroom's archive."""
    spec = json.loads((ROOT / "bench" / "newsroom_questions.json").read_text(encoding="utf-8"))
    from citebot.index.embed.embedders import make_embedder

    crowding = crowd() if crowded else []
    for corpus, folder in (("samples", ROOT / "examples" / "articles"), ("seeds", SHARED / "seeds"),
                           ("pages", SHARED / "extraction" / "pages")):
        items = spec.get(corpus, [])
        if not items or not folder.is_dir():
            continue
        own = load([folder])[0]
        ids = {a.id for a in own}
        others = [a for a in crowding if a.id not in ids]  # the real pages are in the crowd too
        directory = work / (f"news-{corpus}-crowd" if crowded else f"news-{corpus}")
        if not (reuse and (directory / "CURRENT").exists()):
            write(directory, make_embedder(DEFAULT_MODEL), [*own, *others], fresh=True)
        if crowded:
            corpus = f"{corpus} among {len(others):,} other articles"
        for label, with_reranker in (("hybrid alone", None), ("with reranker", reranker)):
            answerer = answerer_at(directory)
            answerer.reranker = with_reranker
            top3 = answered = abstained = n_ans = n_un = 0
            misses = []
            for item in items:
                result = answerer.ask(item["q"])
                if item.get("answer"):
                    n_ans += 1
                    ok = any(item["answer"].lower() in a.text.lower() for a in result.answers[:3])  # "deputy minister" counts
                    top3 += ok
                    answered += not result.abstained
                    if not ok or result.abstained:
                        misses.append(f"{item['q']} (conf {result.confidence:.2f}, top3 {'yes' if ok else 'no'})")
                else:
                    n_un += 1
                    abstained += result.abstained
                    if not result.abstained:
                        misses.append(f"{item['q']} (unanswerable, conf {result.confidence:.2f})")
            print(f"newsroom {corpus} ({label}): right sentence in top 3 for {top3}/{n_ans}, answered {answered}/{n_ans}, "
                  f"abstained on {abstained}/{n_un} unanswerable")
            for m in misses:
                print(f"    miss: {m}")


def sets_of(dev: list[dict], v2: list[dict], halves: dict[str, set[str]], fold: str,  # type: ignore[type-arg]
            sample) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def,type-arg]
    """The fold's question sets. Sampled for both folds in FOLDS order whichever folds are scored:
    the sampler's state carries across folds, so fold odd's questions depend on fold even's draws."""
    held, other = halves[fold], halves["odd" if fold == "even" else "even"]
    return {"retrieval": sample([q for q in dev if q["title"] in held]),
            "unrelated+": sample([q for q in dev if q["title"] in held]),
            "unrelated-": sample([q for q in dev if q["title"] in other]),
            "squad2": [q for q in v2 if q["title"] in held]}


@functools.cache
def indexed_text() -> dict[str, str]:
    """Per SQuAD article, the text of the paragraphs the on-topic index holds (the even-numbered ones), lower case."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))
    return {doc["title"]: " ".join(p["context"] for p in doc["paragraphs"][0::2]).lower() for doc in data["data"]}


def ontopic_sets(dev: list[dict], halves: dict[str, set[str]], fold: str, per_fold: int,  # type: ignore[type-arg]
                 seed: int = 11) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """The on-topic sets of a fold (its own sampler, so that adding them left the other sets' draws as
    they were): questions of the indexed (even-numbered) paragraphs, and questions of the others whose
    answers no indexed paragraph of their article contains (letter case ignored)."""
    rng = random.Random(f"{seed}-{fold}")
    indexed = indexed_text()
    held = [q for q in dev if q["title"] in halves[fold]]
    answered = [q for q in held if paragraph_number(q["article"]) % 2 == 0]
    unanswered = [q for q in held if paragraph_number(q["article"]) % 2 == 1
                  and not any(a.lower() in indexed[q["title"]] for a in q["answers"])]

    def sample(qs: list[dict]) -> list[dict]:  # type: ignore[type-arg]
        return qs if not per_fold or len(qs) <= per_fold else rng.sample(qs, per_fold)

    return {"ontopic+": sample(answered), "ontopic-": sample(unanswered)}


def score_folds(args: argparse.Namespace, sets: dict[str, dict[str, list[dict]]],  # type: ignore[type-arg]
                halves: dict[str, set[str]]) -> dict[str, dict[str, list[dict]]]:  # type: ignore[type-arg]
    """Every question of every set scored by the fold model that never saw its article; only the
    indexes these sets need are opened (or built)."""
    recs: dict[str, dict[str, list[dict]]] = {}  # type: ignore[type-arg]
    for fold in args.folds:
        artifact = args.folds_dir / f"reranker-{fold}.npz"
        if not artifact.is_file():
            raise SystemExit(f"{artifact} is missing: run train/reranker/train.py --runs even,odd first")
        reranker = reranker_for(args.work, artifact)
        answer_model = args.answer_dir / f"answerability-{fold}.npz" if args.answer_dir else None
        if answer_model is not None and not answer_model.is_file():
            raise SystemExit(f"{answer_model} is missing: run train/reranker/train.py --task answer --runs even,odd first")
        answerability = reranker_for(args.work, answer_model, pairs_in_parallel=False) if answer_model else None
        where = {
            "retrieval": lambda: index_of(args.work, "all", SQUAD, None, args.reuse),
            "unrelated": lambda: index_of(args.work, f"half-{fold}", SQUAD, halves[fold], args.reuse),  # noqa: B023
            "squad2": lambda: index_of(args.work, "squad2", SQUAD2, None, args.reuse),
            "ontopic": lambda: index_of(args.work, f"ontopic-{fold}", SQUAD, halves[fold], args.reuse,  # noqa: B023
                                        keep=lambda a: paragraph_number(a.id) % 2 == 0),
            "crowd": lambda: index_of(args.work, f"crowd-{fold}", SQUAD, halves[fold], args.reuse,  # noqa: B023
                                      others=lambda: crowd(with_dev=False)),
        }
        recs[fold] = {}
        for name, qs in sets[fold].items():
            answerer = answerer_at(where[name.rstrip("+-")]())
            t0 = time.perf_counter()
            recs[fold][name] = [record(answerer, reranker, q, args.rerank_top, answerability) for q in qs]
            for r, q in zip(recs[fold][name], qs, strict=True):
                r["answerable"] = 0 if (name.endswith("-") or q["impossible"]) else 1
            print(f"fold {fold}: {name}: {len(qs)} questions in {time.perf_counter() - t0:.0f}s", flush=True)
    return recs


def fit_confidence(candidates: list[str], conf_sets, threshold: float, topic_sets=None,  # type: ignore[no-untyped-def]
                   fit_topic: bool = False) -> tuple[dict[str, float], float]:
    """The confidence model over ``candidates``, fitted on the unrelated-article and SQuAD 2.0 sets
    together (``fit_topic``: and the on-topic sets, which are otherwise only scored). (Fitted on the
    unrelated sets alone, where similarity separates almost everything, the
    weights grow steep: 96% abstention at 97% answered out of fold, but our newsroom near misses got
    confidence 0.97-1.00.) Cross-fitted first (fit on one fold, scored on the other), then on both
    folds, with the bias moved so that ``threshold`` answers ANSWERED of the answerable questions.
    ``topic_sets(fold, names)``: a fold's on-topic inputs and labels, or None where it has none.
    Returns the weights and bias fitted on both folds."""
    print(f"  fitting over {candidates}" + (" (on-topic sets included)" if fit_topic else "") + ":")
    sets = {fold: conf_sets(fold, candidates) for fold in FOLDS}
    topic = {fold: topic_sets(fold, candidates) if topic_sets else None for fold in FOLDS}
    if fit_topic and any(t is None for t in topic.values()):
        raise SystemExit("--fit-ontopic: these records have no on-topic sets (score them again)")

    def data(folds: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        parts = [(sets[f][0], sets[f][1]) for f in folds] + [(sets[f][2], sets[f][3]) for f in folds]
        if fit_topic:
            parts += [topic[f] for f in folds]  # type: ignore[misc]
        return np.vstack([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    for train, test in (("even", "odd"), ("odd", "even")):
        w, b = fit_logistic(*data((train,)))
        xu, yu, xs, ys = sets[test]
        pu, ps = confidence_of(xu, w, b), confidence_of(xs, w, b)
        point = np.quantile(pu[yu == 1], 1 - ANSWERED)
        on_topic = ""
        if topic[test] is not None:
            xt, yt = topic[test]  # type: ignore[misc]
            pt = confidence_of(xt, w, b)
            on_topic = f"; on topic AUROC {auroc(pt, yt):.3f}, abstains on {(pt < point)[yt == 0].mean():.1%} of not answered"
        print(f"  cross-fitted (fit on {train}, scored on {test}): unrelated AUROC {auroc(pu, yu):.3f}, squad2 AUROC "
              f"{auroc(ps, ys):.3f}; answering {ANSWERED:.1%} of answerable it abstains on {(pu < point)[yu == 0].mean():.1%} "
              f"of unrelated{on_topic}")
    xu = np.vstack([sets[f][0] for f in FOLDS])
    yu = np.concatenate([sets[f][1] for f in FOLDS])
    w, b = fit_logistic(*data(FOLDS))
    z = xu @ w + b
    b += math.log(threshold / (1 - threshold)) - float(np.quantile(z[yu == 1], 1 - ANSWERED))
    print("  fitted on both folds: weights {" + ", ".join(f'"{k}": {v:.4g}' for k, v in zip(candidates, w, strict=True))
          + f"}}, bias {b:.4g} (write them with train/confidence/fit.py)")
    p = confidence_of(xu, w, b)
    for th in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        print(f"    threshold {th:.2f}: answers {(p >= th)[yu == 1].mean():.1%} of answerable, abstains on "
              f"{(p < th)[yu == 0].mean():.1%} of unrelated")
    return {k: float(v) for k, v in zip(candidates, w, strict=True)}, float(b)


def fit_one(name: str, conf_sets, l2: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    """The weight of one signal fitted alone (logistic, L2 ``l2``), the shipped confidence's other weights
    and bias held: for a rare signal (value_conflict fires on ~2% of SQuAD 2.0's unanswerable questions)
    a full refit would move every other weight on the evidence of a few questions. Fitted on one fold and
    scored on the other, then on both (the weight to ship)."""
    held = {k: v for k, v in RERANKED_WEIGHTS.items() if k != name}
    names = list(held) + [name]

    def fit(x: np.ndarray, y: np.ndarray) -> float:
        offset, signal, w = x[:, :-1] @ np.asarray(list(held.values())) + RERANKED_BIAS, x[:, -1], 0.0
        for _ in range(100):  # Newton's method on a concave one-dimensional likelihood
            p = 1 / (1 + np.exp(-(offset + w * signal)))
            w += ((signal * (y - p)).sum() - l2 * w) / ((signal * signal * p * (1 - p)).sum() + l2)
        return w

    def scored(sets, w: float) -> str:  # type: ignore[no-untyped-def]
        xu, yu, xs, ys = sets
        weights = np.asarray(list(held.values()) + [w])
        return confidence_figures(confidence_of(xu, weights, RERANKED_BIAS), yu, confidence_of(xs, weights, RERANKED_BIAS),
                                  ys, DEFAULT_ABSTAIN_BELOW)

    sets = {fold: conf_sets(fold, names) for fold in FOLDS}
    print(f"  fitting {name} alone (the other weights as shipped):")
    for train, test in (("even", "odd"), ("odd", "even")):
        xu, yu, xs, ys = sets[train]
        w = fit(np.vstack([xu, xs]), np.concatenate([yu, ys]))
        print(f"  fit on {train}: {name} {w:.3g}; scored on {test}: {scored(sets[test], w)}\n    without it: {scored(sets[test], 0.0)}")
    w = fit(np.vstack([sets[f][i] for f in FOLDS for i in (0, 2)]), np.concatenate([sets[f][i] for f in FOLDS for i in (1, 3)]))
    print(f"  fitted on both folds: {name} {w:.3g} (index/models/confidence.json, model reranked)")
    return w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-eval"))
    ap.add_argument("--folds-dir", type=Path, default=Path("/tmp/citebot-train"))
    ap.add_argument("--per-fold", type=int, default=600, help="questions sampled per fold and set (0: all)")
    ap.add_argument("--reuse", action="store_true", help="reuse indexes already built in --work")
    ap.add_argument("--fit", action="store_true", help="print the fitted confidence model and fusion weight")
    ap.add_argument("--fit-ontopic", action="store_true",
                    help="--fit on the on-topic sets too (otherwise they are only scored, cross-fitted)")
    ap.add_argument("--threshold", type=float, default=DEFAULT_ABSTAIN_BELOW)
    ap.add_argument("--news-only", action="store_true")
    ap.add_argument("--crowd", action="store_true",
                    help="also the unrelated-article sets with the fold's half among ~730 other articles (with --records: "
                    "scored and added to the saved records), and the newsroom check among ~1,900 (crowd())")
    ap.add_argument("--artifact", type=Path, default=ARTIFACT, help="the reranker (.npz) the newsroom check uses")
    ap.add_argument("--features", default=",".join(FEATURES), help="comma-separated signals --fit fits over")
    ap.add_argument("--fit-one", metavar="SIGNAL", help="fit one signal's confidence weight alone, the others held as shipped")
    ap.add_argument("--records", action="store_true",
                    help="reuse the per-question records of the last run (--work/rerank-records.json) instead of scoring")
    ap.add_argument("--rerank-top", type=int, default=RERANK_TOP, help="distinct candidates the reranker reads")
    ap.add_argument("--folds", default=",".join(FOLDS), help="the folds to score (even, odd or both)")
    ap.add_argument("--baseline", type=Path, help="a saved run's records to print beside this run's, on the same questions")
    ap.add_argument("--answer-dir", type=Path, help="also score the fold answerability models (train.py --task answer: "
                    "answerability-even.npz, -odd.npz) found there: the signal 'answerable' for --fit --features")
    args = ap.parse_args()
    args.folds = tuple(f for f in FOLDS if f in args.folds.split(","))
    if not args.folds:
        ap.error(f"--folds: choose from {', '.join(FOLDS)}")
    if args.fit_ontopic and not args.fit:
        ap.error("--fit-ontopic goes with --fit")
    if args.baseline and not args.baseline.is_file():
        ap.error(f"--baseline: no such file: {args.baseline}")
    args.work.mkdir(parents=True, exist_ok=True)
    candidates = args.features.split(",")
    if args.news_only:
        newsroom(shipped_reranker(args.work, args.artifact), args.work, args.reuse, args.crowd)
        return
    dev = questions(SQUAD)
    v2 = questions(SQUAD2)
    titles = sorted({q["title"] for q in dev})
    halves = {"even": set(titles[0::2]), "odd": set(titles[1::2])}
    rng = random.Random(7)

    def sample(qs: list[dict]) -> list[dict]:  # type: ignore[type-arg]
        return qs if not args.per_fold or len(qs) <= args.per_fold else rng.sample(qs, args.per_fold)

    base = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None  # read before scoring
    out = args.work / ("rerank-records.json" if args.folds == FOLDS else f"rerank-records-{'-'.join(args.folds)}.json")
    sets = {fold: sets_of(dev, v2, halves, fold, sample) for fold in FOLDS}
    for fold in FOLDS:
        sets[fold].update(ontopic_sets(dev, halves, fold, args.per_fold))
        if args.crowd:  # the unrelated sets' questions again, their index among other articles
            sets[fold].update({"crowd+": sets[fold]["unrelated+"], "crowd-": sets[fold]["unrelated-"]})
    if args.records:
        recs = json.loads(out.read_text(encoding="utf-8"))
        missing = {fold: {name: qs for name, qs in sets[fold].items() if name not in recs[fold]} for fold in args.folds}
        if args.crowd and any(missing.values()):  # add the crowd sets to records scored without them
            for fold in args.folds:
                if [r["q"] for r in recs[fold]["unrelated+"]] != [q["question"] for q in sets[fold]["unrelated+"]]:
                    raise SystemExit(f"{out} does not hold this run's questions (other --per-fold?)")
            added = score_folds(args, missing, halves)
            for fold in args.folds:
                recs[fold].update(added[fold])
            out.write_text(json.dumps(recs), encoding="utf-8")
    else:
        recs = score_folds(args, sets, halves)
        out.write_text(json.dumps(recs), encoding="utf-8")
    runs = {"this run": recs}
    if base is not None:
        for fold in args.folds:
            if fold not in base or [r["q"] for r in base[fold]["retrieval"]] != [r["q"] for r in recs[fold]["retrieval"]]:
                raise SystemExit(f"{args.baseline} does not hold fold {fold}'s questions of this run (other --per-fold?)")
        runs[f"baseline {args.baseline}"] = base
    for label, run in runs.items():
        report(label, run, args.folds, args.threshold, args.fit and label == "this run")
    if args.fit:
        if args.folds != FOLDS:
            print("\n(--fit needs both folds: cross-fitting fits on one and scores the other)")
        else:
            fit_confidence(candidates, lambda fold, names: conf_sets(recs, fold, names), args.threshold,
                           lambda fold, names: topic_set(recs, fold, names), args.fit_ontopic)
    if args.fit_one:
        if args.folds != FOLDS:
            print("\n(--fit-one needs both folds: it fits on one and scores the other)")
        else:
            fit_one(args.fit_one, lambda fold, names: conf_sets(recs, fold, names))
    print(f"\nper-question records: {out}")
    if args.artifact.is_file() and base is None:  # the quick paired check skips the newsroom questions
        newsroom(shipped_reranker(args.work, args.artifact), args.work, args.reuse, args.crowd)


def confidence_sets(recs: dict, fold: str, inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def,type-arg]
    """``inputs`` of a fold's records and their labels (answerable or not): the unrelated-article sets,
    then SQuAD 2.0."""
    u = recs[fold]["unrelated+"] + recs[fold]["unrelated-"]
    s = recs[fold]["squad2"]
    return inputs(u), np.asarray([r["answerable"] for r in u]), inputs(s), np.asarray([r["answerable"] for r in s])


def conf_sets(recs: dict, fold: str, names: list[str] = FEATURES) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """The confidence's inputs (the signals ``names``) and labels of a fold."""
    return confidence_sets(recs, fold, lambda rs: features(rs, names))


def topic_set(recs: dict, fold: str, names: list[str] = FEATURES) -> tuple[np.ndarray, np.ndarray] | None:  # type: ignore[type-arg]
    """A fold's on-topic inputs (the signals ``names``) and labels, or None for records scored before the check."""
    if "ontopic+" not in recs[fold]:
        return None
    rs = recs[fold]["ontopic+"] + recs[fold]["ontopic-"]
    return features(rs, names), np.asarray([r["answerable"] for r in rs])


def report(label: str, recs: dict, folds: tuple[str, ...], threshold: float, best_weight: bool) -> None:  # type: ignore[type-arg]
    """Retrieval figures over the grid of fusion weights, then the shipped confidence's, per fold."""
    pooled = [r for f in folds for r in recs[f]["retrieval"]]
    print(f"\n{label}: retrieval, out of fold ({len(pooled)} questions of squad-v1.1-dev-a over all 24 articles):")
    best_w, best = 0.0, -1.0
    for w in GRID:
        m = metrics(pooled, w)
        mark = " (shipped)" if abs(w - FUSE_WEIGHT) < 1e-9 else (" (hybrid alone)" if w == 0 else "")
        print(f"  fuse weight {w:<5}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()) + mark)
        if m["MRR@10"] > best:
            best_w, best = w, m["MRR@10"]
    for fold in folds:
        m = metrics(recs[fold]["retrieval"], FUSE_WEIGHT)
        print(f"  fold {fold} at {FUSE_WEIGHT}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))
        print(f"    {first_misses(recs[fold]['retrieval'], FUSE_WEIGHT)}")
    p50, p90 = p50_p90([r["ms"] for r in pooled])
    print(f"  reranking cost per question: p50 {p50:.1f} ms, p90 {p90:.1f} ms ({np.mean([r['head'] for r in pooled]):.1f} sentences read)")
    if best_weight:
        print(f"  best fuse weight by MRR@10: {best_w}")
    print(f"{label}: the shipped confidence (bot/answer.py; threshold {threshold}):")
    for fold in folds:
        print(f"  fold {fold}: {confidence_figures(*shipped_confidence(recs, fold), threshold)}")
        if "ontopic+" in recs[fold]:
            print(f"    on topic, not fitted on: {ontopic_figures(recs[fold], threshold)}")
            print(f"      hybrid alone (the confidence without reranker): {ontopic_figures(recs[fold], threshold, hybrid_confidence)}")
        if "crowd+" in recs[fold]:
            print(f"    among other articles, not fitted on: {crowd_figures(recs[fold], threshold)}")
    shipped = [shipped_confidence(recs, f) for f in folds]
    ps_all = np.concatenate([p for pu, _, ps, _ in shipped for p in (pu, ps)])
    ys_all = np.concatenate([y for _, yu, _, ys in shipped for y in (yu, ys)])
    print(f"  pooled: AUROC {auroc(ps_all, ys_all):.3f}")


def confidence_figures(pu: np.ndarray, yu: np.ndarray, ps: np.ndarray, ys: np.ndarray, threshold: float) -> str:
    """A fold's confidence figures: the unrelated-article sets (``pu``, labels ``yu``) and SQuAD 2.0 (``ps``, ``ys``)."""
    point = np.quantile(pu[yu == 1], 1 - ANSWERED)
    return (f"unrelated AUROC {auroc(pu, yu):.3f}, answers {(pu >= threshold)[yu == 1].mean():.1%} "
            f"of answerable, abstains on {(pu < threshold)[yu == 0].mean():.1%} of unrelated "
            f"({(pu < point)[yu == 0].mean():.1%} at the threshold answering {ANSWERED:.1%}); "
            f"squad2 AUROC {auroc(ps, ys):.3f} ({int((ys == 0).sum())} impossible), abstains on "
            f"{(ps < threshold)[ys == 0].mean():.1%} of them, answers {(ps >= threshold)[ys == 1].mean():.1%}")


def hybrid_confidence(signals: dict[str, float]) -> float:
    """The confidence bot/answer.py gives without a reranker (its retrieval signals are in every record)."""
    return confidence({k: v for k, v in signals.items() if k not in ("rerank_max", "answerable")})


def check_scores(fold_recs: dict, check: str, conf) -> tuple[np.ndarray, np.ndarray, float, float]:  # type: ignore[no-untyped-def,type-arg]
    """A held-out check's confidences (``check``+: answerable, ``check``-: not), the point answering
    ANSWERED of the unrelated sets' answerable questions, and the check's AUROC."""
    pos = np.asarray([conf(signals_of(r)) for r in fold_recs[f"{check}+"]])
    neg = np.asarray([conf(signals_of(r)) for r in fold_recs[f"{check}-"]])
    point = float(np.quantile([conf(signals_of(r)) for r in fold_recs["unrelated+"]], 1 - ANSWERED))
    return pos, neg, point, auroc(np.concatenate([pos, neg]), np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]))


def ontopic_figures(fold_recs: dict, threshold: float, conf=confidence) -> str:  # type: ignore[no-untyped-def,type-arg]
    """The on-topic check of a fold: questions of indexed paragraphs against questions of left-out
    ones, at ``threshold`` and at the point answering ANSWERED of the unrelated sets' answerable ones."""
    pos, neg, point, area = check_scores(fold_recs, "ontopic", conf)
    return (f"AUROC {area:.3f}, answers {(pos >= threshold).mean():.1%} of {len(pos)} answerable, "
            f"abstains on {(neg < threshold).mean():.1%} of {len(neg)} not answered ({(neg < point).mean():.1%} "
            f"at the unrelated sets' {ANSWERED:.1%}-answered point)")


def crowd_figures(fold_recs: dict, threshold: float, conf=confidence) -> str:  # type: ignore[no-untyped-def,type-arg]
    """The unrelated-article sets again with the fold's half indexed among crowd()'s articles: at
    ``threshold`` and at the point answering ANSWERED of the answerable questions without them."""
    pos, neg, point, area = check_scores(fold_recs, "crowd", conf)
    return (f"AUROC {area:.3f}, answers {(pos >= threshold).mean():.1%} of answerable, "
            f"abstains on {(neg < threshold).mean():.1%} of unrelated ({(neg < point).mean():.1%} at the "
            f"{ANSWERED:.1%}-answered point without them, where it answers {(pos >= point).mean():.1%})")


def shipped_confidence(recs: dict, fold: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """The shipped confidence (whichever weights bot/answer.py picks for the signals) and the labels of a fold."""
    return confidence_sets(recs, fold, lambda rs: np.asarray([confidence(signals_of(r)) for r in rs]))

if __name__ == "__main__":
    main()
