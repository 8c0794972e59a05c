"""Probe counts of an approximate (IVF) index: recall against exact search and time at each count.

    .venv/bin/python -m bench.scale --sentences 1000000 --keep /tmp/citebot-1m
    .venv/bin/python -m bench.probes /tmp/citebot-1m/1000000 [--probes 16,32,64,128] [--queries 100]

How index/store/local/ann.py's probe rules were chosen, for re-checking them at other sizes or on
other vectors. On the same SQuAD questions as bench.scale, prints:
- sentence vectors: recall@10 of the dense search against exact search over every stored vector,
  and its p50 (the 100 nearest, as hybrid search asks), at each probe count;
- article vectors, when they are IVF too: recall@5 and p50 at each share of their lists probed;
- filtered to one outlet, day, week and month (bench.scale's synthetic outlets and dates): recall@10
  against exact search over the filter's sentences and p50, for each exponent of the rule by which a
  filter probes more lists than the unfiltered search (see reader._dense).
The shipped rule's choice is marked with *.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD
from bench.eval_squad import questions
from bench.scale import FILTERS, article_recall_at_5, exact_among, exact_articles, exact_top10, recall
from bench.timing import machine_reference, p50_p90, timed
from citebot.index.store import local
from citebot.index.store.base import Filter
from citebot.index.store.local import ann
from citebot.index.store.local.reader import IndexReader

FILTERED = {**FILTERS, "one week": Filter(since=date(2025, 3, 14), until=date(2025, 3, 20))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("index", type=Path, help="an index directory (bench.scale --keep DIR keeps DIR/SIZE)")
    ap.add_argument("--probes", default="16,32,48,64,96,128,256", help="sentence probe counts to try")
    ap.add_argument("--shares", default="0.05,0.1,0.15,0.25,0.4", help="shares of the article lists to try")
    ap.add_argument("--exponents", default="0.5,0.7", help="filter exponents to try (see reader._dense)")
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    import faiss

    from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder

    print(machine_reference())
    qs = [q["question"] for q in questions(SQUAD)][::7][: args.queries]
    qvec = np.asarray(make_embedder(DEFAULT_MODEL).encode(qs), dtype=np.float32)
    reader = IndexReader.open(args.index)
    ivf = faiss.try_extract_index_ivf(reader.vectors)
    if ivf is None:
        raise SystemExit(f"{args.index}: the sentence vectors are searched exactly ({reader.vectors.ntotal} of them)")
    print(f"{reader.vectors.ntotal} sentences in {ivf.nlist} lists; {len(qs)} questions")
    exact = [set(e.tolist()) for e in exact_top10(reader, qvec)]
    shipped = ivf.nprobe
    for probes in sorted({int(p) for p in args.probes.split(",")} | {shipped}):
        ivf.nprobe = probes
        found, ms = timed(lambda q: reader.dense_sentences(q[None, :], 100)[0][:10], qvec)
        print(f"  sentences, {probes:5d} lists{'*' if probes == shipped else ' '}: recall@10 {recall(found, exact, 10):.4f}, "
              f"p50 {p50_p90(ms)[0]:.2f} ms")
    articles = faiss.try_extract_index_ivf(reader.article_vectors)
    if articles is not None:
        own = articles.nprobe
        best_articles = exact_articles(reader, qvec)
        for count in sorted({max(1, round(float(s) * articles.nlist)) for s in args.shares.split(",")} | {own}):
            articles.nprobe = count
            ms = timed(lambda q: reader.dense_articles(q[None, :], 5), qvec)[1]
            print(f"  articles, {count:5d} of {articles.nlist} lists{'*' if count == own else ' '}: "
                  f"recall@5 {article_recall_at_5(reader, qvec, best_articles):.4f}, p50 {p50_p90(ms)[0]:.2f} ms")
        articles.nprobe = own
    else:
        print(f"  articles: {reader.article_vectors.ntotal}, searched exactly")
    ivf.nprobe = shipped
    own_exponent = local.reader.FILTER_EXPONENT
    for label, where in FILTERED.items():
        allowed = reader.allowed_sentences(where)
        if allowed is None or not allowed.size:
            continue
        wanted = exact_among(reader, qvec, allowed)
        share = allowed.size / reader.vectors.ntotal
        for exponent in sorted({float(x) for x in args.exponents.split(",")} | {own_exponent}):
            local.reader.FILTER_EXPONENT = exponent
            found, ms = timed(lambda q, w=where: reader.dense_sentences(q[None, :], 10, w)[0], qvec)
            lists = min(ivf.nlist, int(np.ceil(shipped / share ** exponent)))
            print(f"  {label} ({share:.2%} of the sentences), exponent {exponent}{'*' if exponent == own_exponent else ''}"
                  f" ({lists} lists): recall@10 {recall(found, wanted, 10):.4f}, p50 {p50_p90(ms)[0]:.2f} ms")
        local.reader.FILTER_EXPONENT = own_exponent
    print(f"(the rule: {ann.SENTENCE_PROBES} sentence lists; {ann.ARTICLE_PROBE_SHARE:.0%} of the article lists; "
          f"a filter letting a share s through, 1/s**{own_exponent} times the sentence lists)")


if __name__ == "__main__":
    main()
