"""Retrieval and abstention evaluation on a SQuAD-format file, through `citebot ask --json --batch`.

    .venv/bin/python -m bench.eval_squad                      # retrieval: MRR@10, R@1, R@5, R@10
    .venv/bin/python -m bench.eval_squad --abstention         # index half the articles, ask all questions
    .venv/bin/python -m bench.eval_squad --abstention --calibrate   # also fit the confidence model

Every paragraph is indexed as an article; a question counts as answered at rank k when the k-th
answer cites (in any of its citations) the sentence holding the first gold answer's start offset.
Per-question output (JSONL) goes to --out for inspection.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD, squad_articles
from citebot.bot.cli import run
from citebot.bot.confidence import model as confidence_model
from citebot.bot.config import Settings
from citebot.index.embed.embedders import DEFAULT_MODEL, Embedder, make_embedder
from citebot.index.records import Article
from citebot.index.store.local.writer import write

RETRIEVAL = confidence_model("retrieval")


def questions(path: Path) -> list[dict]:  # type: ignore[type-arg]
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for doc in data["data"]:
        for n, paragraph in enumerate(doc["paragraphs"]):
            for qa in paragraph["qas"]:
                starts = [a["answer_start"] for a in qa.get("answers", [])]
                out.append({"id": qa["id"], "question": " ".join(qa["question"].split()), "article": f"{doc['title']}/{n}",
                            "title": doc["title"], "start": starts[0] if starts else -1, "starts": starts,
                            "impossible": bool(qa.get("is_impossible")), "answers": [a["text"] for a in qa.get("answers", [])]})
    return out


def build(index_dir: Path, path: Path, titles: set[str] | None, model: str, embedder: Embedder | None = None,
          keep: Callable[[Article], bool] | None = None, others: Sequence[Article] = ()) -> None:
    """An index of the SQuAD paragraphs of ``titles`` (all when None) that ``keep`` accepts (all when None),
    and ``others`` beside them."""
    articles = [a for a in squad_articles(path) if (titles is None or a.title in titles) and (keep is None or keep(a))]
    articles += others
    t0 = time.perf_counter()
    report = write(index_dir, embedder or make_embedder(model), articles, fresh=True)
    print(f"indexed {report.articles_total} paragraphs, {report.sentences_total} sentences "
          f"in {time.perf_counter() - t0:.1f}s")


def ask_all(index_dir: Path, qs: list[dict], model: str, top_k: int = 10) -> list[dict]:  # type: ignore[type-arg]
    """Every question through the CLI's batch path; returns the JSON objects in order."""
    batch = index_dir.parent / f"{index_dir.name}.questions.txt"
    batch.write_text("\n".join(q["question"] for q in qs) + "\n", encoding="utf-8")
    out = io.StringIO()
    t0 = time.perf_counter()
    os.environ["CITEBOT_MODEL"] = model
    code = run(["ask", "--json", "--batch", str(batch), "--top-k", str(top_k), "--index-dir", str(index_dir)], out=out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    elapsed = time.perf_counter() - t0
    print(f"asked {len(results)} questions in {elapsed:.1f}s ({1000 * elapsed / max(1, len(results)):.1f} ms each), exit {code}")
    assert len(results) == len(qs), "every question must produce one JSON line"
    return results


def rank(result: dict, q: dict) -> int | None:  # type: ignore[type-arg]
    for r, answer in enumerate(result.get("answers", [])[:10], start=1):
        for c in answer["citations"]:
            if c["article_id"] == q["article"] and c["char_start"] <= q["start"] < c["char_end"]:
                return r
    return None


def retrieval_metrics(results: list[dict], qs: list[dict]) -> dict[str, float]:  # type: ignore[type-arg]
    ranks = [rank(r, q) for r, q in zip(results, qs, strict=True)]
    n = len(ranks)
    return {"MRR@10": sum(1 / r for r in ranks if r) / n, "R@1": sum(1 for r in ranks if r == 1) / n,
            "R@5": sum(1 for r in ranks if r and r <= 5) / n, "R@10": sum(1 for r in ranks if r) / n}


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 4000, lr: float = 0.5) -> tuple[np.ndarray, float]:
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= lr * z.T @ (p - y) / len(y)
        b -= lr * float((p - y).mean())
    return w / sd, b - float((w / sd) @ mu)


def abstention_report(results: list[dict], labels: np.ndarray, threshold: float) -> None:  # type: ignore[type-arg]
    conf = np.asarray([r.get("confidence", 0.0) for r in results])
    answered = conf >= threshold
    print(f"  abstention AUROC {auroc(conf, labels):.4f}; at threshold {threshold:.2f}: "
          f"answers {answered[labels == 1].mean():.1%} of answerable, abstains on {(~answered)[labels == 0].mean():.1%} "
          f"of unanswerable ({int(labels.sum())} answerable, {int((labels == 0).sum())} unanswerable)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=SQUAD)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-eval"), help="where indexes and outputs go")
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    ap.add_argument("--reuse", action="store_true", help="reuse indexes already built in --work")
    ap.add_argument("--abstention", action="store_true")
    ap.add_argument("--calibrate", action="store_true", help="fit the confidence model (with --abstention)")
    ap.add_argument("--threshold", type=float, default=Settings().abstain_below)
    ap.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    ap.add_argument("--reranker", default=os.environ.get("CITEBOT_RERANKER", "builtin"),
                    help="CITEBOT_RERANKER for the asks (builtin, none, an .npz artifact): note that the built-in "
                         "one was trained on this file's articles, so only `none` or a fold artifact is a fair figure")
    args = ap.parse_args()
    os.environ["CITEBOT_RERANKER"] = args.reranker
    args.work.mkdir(parents=True, exist_ok=True)
    qs = questions(args.squad)
    if args.limit:
        qs = qs[: args.limit]
    titles = sorted(set(q["title"] for q in questions(args.squad)))
    if not args.abstention:
        index_dir = args.work / "all"
        if not (args.reuse and (index_dir / "CURRENT").exists()):
            build(index_dir, args.squad, None, args.model)
        results = ask_all(index_dir, qs, args.model)
        (args.work / "retrieval.jsonl").write_text("\n".join(json.dumps({**q, "rank": rank(r, q), **r})
                                                             for q, r in zip(qs, results, strict=True)) + "\n")
        print("retrieval:", ", ".join(f"{k} {v:.3f}" for k, v in retrieval_metrics(results, qs).items()))
        labels = np.ones(len(qs))
        conf = np.asarray([r["confidence"] for r in results])
        print(f"  answerable questions answered at threshold {args.threshold:.2f}: {(conf >= args.threshold).mean():.1%}")
        print(f"  per-question output: {args.work / 'retrieval.jsonl'}")
        return
    halves = {"even": set(titles[0::2]), "odd": set(titles[1::2])}
    signals, label_sets = {}, {}
    for name, indexed in halves.items():
        index_dir = args.work / f"half-{name}"
        if not (args.reuse and (index_dir / "CURRENT").exists()):
            build(index_dir, args.squad, indexed, args.model)
        results = ask_all(index_dir, qs, args.model)
        labels = np.asarray([1 if q["title"] in indexed else 0 for q in qs])
        (args.work / f"abstention-{name}.jsonl").write_text("\n".join(
            json.dumps({**q, "answerable": int(lab), **r}) for q, r, lab in zip(qs, results, labels, strict=True)) + "\n")
        print(f"index of the {name} half of the articles:")
        abstention_report(results, labels, args.threshold)
        signals[name] = np.asarray([[r["signals"].get(k, 0.0) for k in RETRIEVAL.weights] for r in results])
        label_sets[name] = labels
    if args.calibrate:
        for train, test in (("even", "odd"), ("odd", "even")):
            w, b = fit_logistic(signals[train], label_sets[train])
            print(f"fit on {train}, AUROC on {test}: {auroc(signals[test] @ w + b, label_sets[test]):.4f}")
        x = np.vstack(list(signals.values()))
        y = np.concatenate(list(label_sets.values()))
        w, b = fit_logistic(x, y)
        p = 1 / (1 + np.exp(-(x @ w + b)))
        print("fitted on both halves:")
        print("  weights {" + ", ".join(f'"{k}": {v:.4g}' for k, v in zip(RETRIEVAL.weights, w, strict=True)) + "}")
        print(f"  bias {b:.4g}")
        for th in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
            print(f"  threshold {th:.2f}: answers {(p >= th)[y == 1].mean():.1%} of answerable, "
                  f"abstains on {(p < th)[y == 0].mean():.1%} of unanswerable")
        print(f"  (current model: bias {RETRIEVAL.bias}, weights {RETRIEVAL.weights})")


if __name__ == "__main__":
    main()
