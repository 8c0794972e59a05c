"""Store parity: the same articles indexed in the local store and in Milvus (milvus-lite, exact
search) give the same retrieval.

    .venv/bin/python -m bench.store_parity [--limit N] [--model NAME]

Corpora: our sample articles and the five seed articles with our newsroom questions
(bench/newsroom_questions.json), and the SQuAD half (../shared/eval/squad-v1.1-dev-a.json, every
paragraph an article, every question asked).
For each question the hybrid retrieval's top 10 in both stores is compared (same ids in the same
order; same set), and the answer's MRR@10 on SQuAD (through the Answerer, without the reranker:
it reads the same texts in both stores, so only retrieval can differ) is printed for each store.
Prints query latency p50 for each store too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.corpora import ROOT, SHARED, SQUAD, squad_articles
from bench.eval_squad import questions, rank
from citebot.bot.answer import Answerer
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.files import load
from citebot.index.search.hybrid import HybridSearch
from citebot.index.store.open import open_store


def compare(name: str, articles: list, qs: list[dict], embedder, work: Path, score: bool) -> None:  # type: ignore[type-arg, no-untyped-def]
    stores = {"local": open_store("local", work / f"{name}-local"),
              "milvus": open_store("milvus", work / f"{name}-milvus", str(work / f"{name}-milvus" / "milvus.db"))}
    for kind, store in stores.items():
        t0 = time.perf_counter()
        report = store.write(embedder, articles, fresh=True)
        print(f"{name}: {kind} build {report.articles_total} articles, {report.sentences_total} sentences "
              f"in {time.perf_counter() - t0:.1f}s")
    readers = {kind: store.reader() for kind, store in stores.items()}
    vectors = embedder.encode([q["question"] for q in qs])
    same_order = same_set = 0
    latency: dict[str, list[float]] = {k: [] for k in readers}
    ranks: dict[str, list[int | None]] = {k: [] for k in readers}
    for q, vector in zip(qs, vectors, strict=True):
        tops = {}
        for kind, reader in readers.items():
            t0 = time.perf_counter()
            tops[kind] = [h.sentence_id for h in HybridSearch(reader).search(q["question"], vector, 10).hits]
            latency[kind].append(time.perf_counter() - t0)
            if score:
                result = Answerer(reader, _Fixed(embedder, vector), top_k=10).ask(q["question"])
                ranks[kind].append(rank(result.to_dict(), q))
        same_order += tops["local"] == tops["milvus"]
        same_set += set(tops["local"]) == set(tops["milvus"])
    n = len(qs)
    print(f"{name}: {n} questions: same top-10 (ids and order) {same_order / n:.4f}, same top-10 set {same_set / n:.4f}")
    for kind in readers:
        line = f"{name}: {kind:<6} hybrid retrieval p50 {1000 * statistics.median(latency[kind]):.1f} ms"
        if score:
            mrr = sum(1 / r for r in ranks[kind] if r) / n
            line += f", answer MRR@10 {mrr:.4f}"
        print(line)


class _Fixed:
    """The question's vector, computed once for both stores."""

    def __init__(self, inner, vector) -> None:  # type: ignore[no-untyped-def]
        self.name, self.dimension, self.vector = inner.name, inner.dimension, vector

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        import numpy as np

        return np.vstack([self.vector for _ in texts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=0, help="only the first N SQuAD questions")
    args = ap.parse_args()
    embedder = make_embedder(args.model)
    with tempfile.TemporaryDirectory(prefix="citebot-parity-") as tmp:
        work = Path(tmp)
        news = json.loads((ROOT / "bench" / "newsroom_questions.json").read_text(encoding="utf-8"))
        corpora = {"samples": ROOT / "examples" / "articles", "seeds": SHARED / "seeds"}
        for name, folder in corpora.items():
            if folder.is_dir():
                compare(name, load([folder])[0], [{"question": q["q"]} for q in news[name]], embedder, work, score=False)
        if SQUAD.is_file():
            qs = questions(SQUAD)[: args.limit or None]
            compare("squad", squad_articles(), qs, embedder, work, score=True)


if __name__ == "__main__":
    main()
