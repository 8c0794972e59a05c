"""The optional int8 build encoder (CITEBOT_BUILD_ENCODER=int8): its speed and what it costs in quality.

    .venv/bin/python -m bench.int8_build [--work /tmp/citebot-int8] [--rounds 3]

1. Throughput: the model (sentence-transformers, torch) and its int8 ONNX export encode the same
   SQuAD-half sentences, alternating for --rounds rounds; medians and the gain are printed, with
   the cosine between the two encoders' vectors.
2. Quality: the SQuAD half is indexed twice, once with each encoder (queries always use the fp32
   ONNX query encoder, as `ask` does), and every question goes through `ask --json --batch`;
   MRR@10 and R@5 of both are printed with the relative change. The int8 encoder is acceptable
   when MRR@10 drops by at most 1 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD, squad_articles
from bench.eval_squad import ask_all, build, questions, retrieval_metrics
from citebot.index.embed.choose import document_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.sentences import split_article


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-int8"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    texts = sorted({s.text for a in squad_articles(SQUAD) for s in split_article(a)}, key=len)
    model = make_embedder(args.model)
    int8 = document_embedder(args.model, args.work / "int8", "int8")  # exports + quantises into that index dir
    assert getattr(int8, "precision", None) == "int8", "the model could not be quantised"
    for encoder in (model, int8):
        encoder.encode(texts[:64])
    speed: dict[str, list[float]] = {"torch": [], "int8": []}
    for _ in range(args.rounds):
        for name, encoder in (("torch", model), ("int8", int8)):
            t0 = time.perf_counter()
            vectors = encoder.encode(texts)
            speed[name].append(len(texts) / (time.perf_counter() - t0))
            if name == "torch":
                reference = vectors
    cosines = (reference * int8.encode(texts)).sum(axis=1)
    torch_rate, int8_rate = statistics.median(speed["torch"]), statistics.median(speed["int8"])
    print(f"{len(texts)} sentences, {args.rounds} rounds: torch {torch_rate:.1f} sentences/s, int8 {int8_rate:.1f} sentences/s "
          f"-> {int8_rate / torch_rate:.2f}x; cosine int8 vs torch: mean {float(cosines.mean()):.4f}, "
          f"min {float(np.min(cosines)):.4f}")
    qs = questions(SQUAD)
    metrics = {}
    for name, encoder in (("torch", model), ("int8", int8)):
        index_dir = args.work / name
        build(index_dir, SQUAD, None, args.model, encoder)  # the write exports the fp32 query encoder too
        metrics[name] = retrieval_metrics(ask_all(index_dir, qs, args.model), qs)
        print(f"index built with {name}:", ", ".join(f"{k} {v:.4f}" for k, v in metrics[name].items()))
    drop = 1 - metrics["int8"]["MRR@10"] / metrics["torch"]["MRR@10"]
    print(f"MRR@10 change with int8: {-drop:+.2%} -> {'acceptable' if drop <= 0.01 else 'NOT acceptable'} (limit: a 1 % drop)")


if __name__ == "__main__":
    main()
