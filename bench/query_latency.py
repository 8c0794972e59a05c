"""Warm query latency: the full hybrid `ask` next to dense-only, same index, same questions.

    .venv/bin/python -m bench.query_latency [--index-dir /tmp/citebot-eval/all] [--questions 300]
                                            [--encoder auto|torch]

The paths, all including the question's embedding:
  dense search   embed + FAISS top-10 + fetch those rows (a bare vector search, no answer)
  dense answer   embed + FAISS top-40 + rows, then the same grouping, context and Result as `ask`
                 (what `ask` would cost with dense-only retrieval)
  hybrid ask     `Answerer.ask` without a reranker: dense + BM25 (tantivy) + context signals, grouping, context
  reranked ask   `Answerer.ask` as `citebot ask` runs it: hybrid ask + the built-in reranker (ONNX) and
                 its answerability model
  reranker only  the same without the answerability model (printed when the reranker has one)
The goals (docs/performance.md): hybrid ask within 1.5× of dense answer (both ratios are printed), and
reranking adding at most 100 ms p50 (reranked ask against hybrid ask).
Run bench.eval_squad first to build the SQuAD index.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD, model_cache
from bench.eval_squad import questions
from bench.timing import machine_reference, p50_p90, timed
from citebot.bot.answer import Answerer
from citebot.index.embed.choose import query_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.search.hybrid import Retrieved
from citebot.index.search.rerank import ARTIFACT, make_reranker
from citebot.index.store.local.reader import IndexReader


class DenseSearch:
    """Dense-only retrieval with HybridSearch's interface: FAISS top-k, no keyword or context signals."""

    def __init__(self, reader: IndexReader) -> None:
        self.reader = reader

    def search(self, question: str, vector: np.ndarray, k: int) -> Retrieved:
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        scores, ids = self.reader.vectors.search(query, min(k, int(self.reader.vectors.ntotal)))
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        with self.reader.lock:
            rows = self.reader.rows(i for i, _ in pairs)
        hits = [self.reader.hit(rows[i], s) for i, s in pairs if i in rows]
        vectors = self.reader.vectors.reconstruct_batch(np.asarray([h.sentence_id for h in hits], dtype=np.int64))
        return Retrieved(hits, vectors, {"max_dense": pairs[0][1] if pairs else 0.0})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, default=Path("/tmp/citebot-eval/all"))
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    ap.add_argument("--encoder", choices=["torch", "auto"], default="auto",
                    help="query encoder: the index's ONNX export as `ask` uses (auto), or sentence-transformers")
    ap.add_argument("--reranker", default="builtin", help="what the reranked path uses (CITEBOT_RERANKER values)")
    args = ap.parse_args()
    reader = IndexReader.open(args.index_dir, model=args.model)
    embedder = query_embedder(args.model, model_cache(), args.encoder)
    hybrid = Answerer(reader, embedder, top_k=10)
    reranker = make_reranker(args.reranker, model_cache())
    reranked = Answerer(reader, embedder, top_k=10, reranker=reranker)
    # The built-in reranker named by its .npz path comes without its answerability model: what that model's pass costs
    rerank_only = (Answerer(reader, embedder, top_k=10, reranker=make_reranker(str(ARTIFACT), model_cache()))
                   if reranker is not None and reranker.answerability is not None else None)
    dense = Answerer(reader, embedder, top_k=10)
    dense.search = DenseSearch(reader)  # type: ignore[assignment]
    qs = [q["question"] for q in questions(SQUAD)][:: max(1, 5609 // args.questions)][: args.questions]
    for q in qs[:20]:  # warm-up
        hybrid.ask(q)
        dense.ask(q)
        reranked.ask(q)
        if rerank_only is not None:
            rerank_only.ask(q)
    # interleave the paths in rounds so machine noise hits all alike
    bare: list[float] = []
    dense_answer: list[float] = []
    hybrid_ask: list[float] = []
    reranked_ask: list[float] = []
    rerank_only_ask: list[float] = []
    for start in range(0, len(qs), 25):
        chunk = qs[start: start + 25]
        bare += timed(lambda q: reader.search(embedder.encode([q])[0], 10), chunk)[1]
        dense_answer += timed(dense.ask, chunk)[1]
        hybrid_ask += timed(hybrid.ask, chunk)[1]
        reranked_ask += timed(reranked.ask, chunk)[1]
        if rerank_only is not None:
            rerank_only_ask += timed(rerank_only.ask, chunk)[1]
    embed = timed(lambda q: embedder.encode([q]), qs)[1]
    print(machine_reference())
    print(f"index: {reader.manifest.articles} articles, {reader.manifest.sentences} sentences; {len(qs)} questions; "
          f"encoder {args.encoder}")
    for name, values in (("embed only", embed), ("dense search", bare), ("dense answer", dense_answer), ("hybrid ask", hybrid_ask),
                         ("reranked ask", reranked_ask), ("reranker only", rerank_only_ask)):
        if not values:
            continue
        p50, p90 = p50_p90(values)
        print(f"{name:12s} p50 {p50:6.1f} ms   p90 {p90:6.1f} ms")
    print(f"hybrid ask / dense answer (p50): {statistics.median(hybrid_ask) / statistics.median(dense_answer):.2f}x   "
          f"hybrid ask / dense search (p50): {statistics.median(hybrid_ask) / statistics.median(bare):.2f}x")
    print(f"reranking adds {statistics.median(reranked_ask) - statistics.median(hybrid_ask):.1f} ms to a warm ask (p50 difference; "
          f"reranker {args.reranker})")
    if rerank_only_ask:
        print(f"  of which the answerability model's pass {statistics.median(reranked_ask) - statistics.median(rerank_only_ask):.1f} ms "
              f"(p50 difference to the reranker without it)")


if __name__ == "__main__":
    main()
