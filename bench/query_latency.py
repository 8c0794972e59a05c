"""Warm query latency: the full hybrid `ask` next to dense-only search, same index, same questions.

    .venv/bin/python -m bench.query_latency [--index-dir /tmp/citebot-eval/all] [--questions 300]

Dense-only = embed the question + FAISS top-10 + fetch those rows (what `ask` did before hybrid
retrieval). Both include embedding. Run bench.eval_squad first to build the SQuAD index.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench.corpora import SQUAD
from bench.eval_squad import questions
from bot.answer import Answerer
from index.embedders import DEFAULT_MODEL
from index.onnx_encoder import query_embedder
from index.reader import IndexReader


def timed(fn, items) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, default=Path("/tmp/citebot-eval/all"))
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    ap.add_argument("--encoder", choices=["torch", "auto"], default="torch",
                    help="query encoder: sentence-transformers, or the index's ONNX export as `ask` uses")
    args = ap.parse_args()
    reader = IndexReader.open(args.index_dir, model=args.model)
    embedder = query_embedder(args.model, args.index_dir, args.encoder)
    answerer = Answerer(reader, embedder, top_k=10)
    qs = [q["question"] for q in questions(SQUAD)][:: max(1, 5609 // args.questions)][: args.questions]
    for q in qs[:20]:  # warm-up
        answerer.ask(q)
    # interleave the two paths in rounds so machine noise hits both alike
    dense, hybrid = [], []
    for start in range(0, len(qs), 50):
        chunk = qs[start: start + 50]
        dense += timed(lambda q: reader.search(embedder.encode([q])[0], 10), chunk)
        hybrid += timed(lambda q: answerer.ask(q), chunk)
    embed = timed(lambda q: embedder.encode([q]), qs)
    print(f"index: {reader.manifest.articles} articles, {reader.manifest.sentences} sentences; {len(qs)} questions")
    for name, values in (("embed only", embed), ("dense-only", dense), ("hybrid ask", hybrid)):
        values = sorted(values)
        print(f"{name:11s} p50 {statistics.median(values):6.1f} ms   p90 {values[int(0.9 * len(values))]:6.1f} ms")
    print(f"hybrid / dense-only (p50): {statistics.median(hybrid) / statistics.median(dense):.2f}x")


if __name__ == "__main__":
    main()
