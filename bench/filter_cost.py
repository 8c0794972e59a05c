"""What a filter or a time phrase adds to a warm question on the SQuAD index.

    .venv/bin/python -m bench.filter_cost [--questions 300] [--work /tmp/citebot-filter-cost]

Indexes the SQuAD half with an outlet (one of 8, by article title) and a publication date (one of the
365 days of 2025, by paragraph) for each paragraph, then asks the same questions, interleaved in rounds,
as `citebot ask` answers them (ONNX encoder, built-in reranker and answerability model): unfiltered;
limited to one outlet; to one month; and with " this month" appended, read against an as-of date
(a time phrase, resolved and cut from the searched text). Prints each path's p50 and p90 and its p50
difference to the unfiltered question.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
from datetime import date, timedelta
from pathlib import Path

from bench.corpora import SQUAD, model_cache, squad_articles
from bench.eval_squad import questions
from bench.timing import machine_reference, p50_p90, timed
from citebot.bot.answer import Answerer
from citebot.index.embed.choose import document_embedder, query_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.ingest.articles import make_article
from citebot.index.search.rerank import make_reranker
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write

OUTLETS = 8
AS_OF = date(2025, 6, 20)


def dated(n: int, article) -> object:  # type: ignore[no-untyped-def]
    digest = int.from_bytes(hashlib.blake2b(article.title.encode(), digest_size=4).digest(), "little")
    day = date(2025, 1, 1) + timedelta(days=n % 365)
    return make_article(article.body, None, id=article.id, title=article.title, source=f"Outlet {digest % OUTLETS}",
                        published=day.isoformat())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-filter-cost"))
    args = ap.parse_args()
    index_dir = args.work / "ix"
    if not (index_dir / "CURRENT").is_file():
        articles = [dated(n, a) for n, a in enumerate(squad_articles(SQUAD))]
        write(index_dir, document_embedder(DEFAULT_MODEL, model_cache()), articles, fresh=True)
    reader = IndexReader.open(index_dir)
    answerer = Answerer(reader, query_embedder(DEFAULT_MODEL, model_cache()), top_k=10,
                        reranker=make_reranker("builtin", model_cache()))
    qs = [q["question"] for q in questions(SQUAD)][:: max(1, 5609 // args.questions)][: args.questions]
    outlet = reader.outlets()[0]
    paths = {
        "unfiltered": lambda q: answerer.ask(q, as_of=AS_OF),
        f"one outlet ({outlet})": lambda q: answerer.ask(q, as_of=AS_OF, sources=(outlet,)),
        "one month (since/until)": lambda q: answerer.ask(q, as_of=AS_OF, since=date(2025, 6, 1), until=date(2025, 6, 30)),
        "time phrase (' this month')": lambda q: answerer.ask(q.rstrip("?") + " this month?", as_of=AS_OF),
    }
    for q in qs[:20]:
        for path in paths.values():
            path(q)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for start in range(0, len(qs), 25):
        for name, path in paths.items():
            times[name] += timed(path, qs[start: start + 25])[1]
    print(machine_reference())
    print(f"index: {reader.manifest.articles} articles, {reader.manifest.sentences} sentences, {OUTLETS} outlets, "
          f"dates over 2025; {len(qs)} questions")
    base = statistics.median(times["unfiltered"])
    for name, values in times.items():
        p50, p90 = p50_p90(values)
        print(f"  {name:<30} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  ({p50 - base:+.1f} ms p50 against unfiltered)")


if __name__ == "__main__":
    main()
