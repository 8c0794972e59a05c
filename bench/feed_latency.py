"""Feed latency with the real model: seconds from an item appearing in a feed to it being answerable.

    .venv/bin/python -m bench.feed_latency [--interval 5] [--items 6] [--base 300]

A real HTTP server on 127.0.0.1 serves an RSS feed and the items' pages; a FeedFollower polls it
every ``--interval`` seconds in a thread while a running AnswerService answers questions. Each
item is published at a random moment of the poll cycle, and the bench asks every 0.1 s until the
new item's sentence is cited. Prints each latency, their median and maximum, and the part spent
ingesting (fetch, extract, embed, publish a generation) as logged by the poll.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.corpora import ROOT, corpus
from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.files import load
from citebot.index.lifecycle.feeds import FeedFollower, PollReport, follow_in_thread
from citebot.index.store.local.writer import write
from tests.web_server import Feed, Item, WebServer

PLACES = ["Tartu", "Narva", "Parnu", "Liepaja", "Klaipeda", "Ventspils", "Kuressaare", "Haapsalu", "Siauliai", "Jelgava"]


def item_page(n: int, place: str) -> str:
    return (f"<html><head><title>Comet seen over {place}</title><meta property='og:site_name' content='Sky Desk'>"
            f"<meta property='article:published_time' content='2026-04-0{1 + n % 9}'></head><body><article>"
            f"<p>The observatory in {place} discovered a comet named Kallas-{n} on Sunday night, astronomers said.</p>"
            f"<p>They said the comet will be visible with binoculars from {place} in early April.</p>"
            "</article></body></html>")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval", type=float, default=5.0, help="poll interval in seconds")
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--base", type=int, default=300, help="SQuAD paragraphs in the base index")
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    embedder = make_embedder(args.model)
    web = WebServer().start()
    feed = Feed("Sky Desk")
    web.routes["/feed.xml"] = feed.handler
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "ix"
        base = corpus("squad", args.base) + load([ROOT / "examples" / "articles"])[0]
        report = write(index_dir, embedder, base, fresh=True)
        print(f"base index: {report.articles_total} articles, {report.sentences_total} sentences; "
              f"poll interval {args.interval:g}s")
        service = AnswerService(Settings(model=args.model, index_dir=index_dir), embedder_factory=lambda _: embedder)
        service.answerer()
        polls: list[tuple[float, PollReport]] = []
        follower = FeedFollower([web.url("/feed.xml")], index_dir, embedder, interval=args.interval,
                                on_poll=lambda r: polls.append((time.monotonic(), r)))
        follow_in_thread(follower)
        latencies, ingest = [], []
        try:
            for n in range(args.items):
                place = PLACES[n % len(PLACES)]
                time.sleep(rng.uniform(0, args.interval))  # a random moment of the poll cycle
                web.page(f"/sky/{n}", item_page(n, place))
                feed.add(Item(f"Comet seen over {place}", web.url(f"/sky/{n}"), f"urn:sky:{n}"))
                published = time.monotonic()
                question = f"What did the observatory in {place} discover?"
                while time.monotonic() - published < 10 * args.interval + 60:
                    answers = service.ask(question).answers[:3]
                    if any(f"Kallas-{n}" in a.text for a in answers):
                        break
                    time.sleep(0.1)
                else:
                    raise SystemExit(f"item {n} never became answerable")
                latencies.append(time.monotonic() - published)
                done = [(t, r) for t, r in polls if r.new]
                ingest.append(done[-1][1].seconds if done else float("nan"))
                print(f"item {n}: answerable after {latencies[-1]:.2f}s (ingest {ingest[-1]:.2f}s)")
        finally:
            follower.stop()
            web.stop()
    print(f"feed latency over {len(latencies)} items at a {args.interval:g}s poll: median {statistics.median(latencies):.2f}s, "
          f"max {max(latencies):.2f}s; ingest median {statistics.median(ingest):.2f}s "
          f"(expected: up to one interval of waiting for the poll, plus ingest)")


if __name__ == "__main__":
    main()
