"""Build throughput: the default build encoder (the model's ONNX export) and the int8 option against a plain
sentence-transformers encode, and what each costs in retrieval quality.

    .venv/bin/python -m bench.build_speed [--work /tmp/citebot-build-speed] [--rounds 3] [--no-quality]

1. Throughput: sentence-transformers (torch, `SentenceTransformer.encode`), the ONNX export
   (CITEBOT_BUILD_ENCODER=auto, the default) and its int8 variant (int8) encode the same SQuAD-half
   sentences, in turn for --rounds rounds; medians, the ratios to sentence-transformers, and the
   cosine between each encoder's vectors and the model's are printed.
2. Quality: the SQuAD half is indexed with each encoder (questions always use the ONNX encoder, as
   `ask` does) and every question goes through `ask --json --batch` (retrieval alone, as
   CITEBOT_RERANKER=none answers, unless --reranker names one); MRR@10 and R@5 of each are printed
   with the difference from the torch-built index.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD, model_cache, squad_articles
from bench.eval_squad import ask_all, build, questions, retrieval_metrics
from bench.timing import machine_reference
from citebot.index.embed.choose import document_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL, Embedder, make_embedder
from citebot.index.ingest.sentences import split_article


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-build-speed"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    ap.add_argument("--no-quality", action="store_true", help="throughput only")
    ap.add_argument("--reranker", default="none", help="what reranks in the quality runs (CITEBOT_RERANKER values)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(machine_reference())
    texts = sorted({s.text for a in squad_articles(SQUAD) for s in split_article(a)})
    encoders: dict[str, Embedder] = {
        "sentence-transformers": make_embedder(args.model),
        "onnx (default)": document_embedder(args.model, model_cache(), "auto"),
        "int8": document_embedder(args.model, model_cache(), "int8"),
    }
    for encoder in encoders.values():
        encoder.encode(texts[:64])
    speed: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, encoder in encoders.items():
            t0 = time.perf_counter()
            vectors[name] = encoder.encode(texts)
            speed[name].append(len(texts) / (time.perf_counter() - t0))
    base = statistics.median(speed["sentence-transformers"])
    print(f"{len(texts)} sentences, median of {args.rounds} rounds:")
    for name in encoders:
        rate = statistics.median(speed[name])
        cosines = (vectors[name] * vectors["sentence-transformers"]).sum(axis=1)
        print(f"  {name:<22} {rate:6.1f} sentences/s  {rate / base:.2f}x  cosine to the model: "
              f"mean {float(cosines.mean()):.6f}, min {float(cosines.min()):.6f}")
    if args.no_quality:
        return
    qs = questions(SQUAD)
    os.environ["CITEBOT_RERANKER"] = args.reranker
    metrics = {}
    for name, encoder in encoders.items():
        index_dir = args.work / name.split()[0]
        build(index_dir, SQUAD, None, args.model, encoder)
        metrics[name] = retrieval_metrics(ask_all(index_dir, qs, args.model), qs)
        change = metrics[name]["MRR@10"] - metrics["sentence-transformers"]["MRR@10"]
        print(f"SQuAD half indexed with {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics[name].items())
              + f" (MRR@10 {change:+.4f} against the torch-built index)")


if __name__ == "__main__":
    main()
