"""Index build throughput next to raw encode throughput, and the cold wall time of one `ask`.

    .venv/bin/python -m bench.build_and_ask [--corpus squad|seeds|samples] [--limit N] [--asks 3]

Build throughput counts everything `citebot index build` does (ingest, splitting, embedding,
FAISS, SQLite, manifest); raw encode is the same model encoding the same sentences, nothing else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpora import ROOT, corpus
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.sentences import split_article
from citebot.index.store.local.writer import write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="squad", choices=["squad", "seeds", "samples"])
    ap.add_argument("--limit", type=int, default=300, help="articles (SQuAD paragraphs) to use")
    ap.add_argument("--asks", type=int, default=3, help="cold `citebot ask` runs to time")
    ap.add_argument("--rounds", type=int, default=3, help="raw-encode / rebuild pairs to time")
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    args = ap.parse_args()

    articles = corpus(args.corpus, args.limit)
    sentences = [s.text for a in articles for s in split_article(a)]
    unique = sorted(set(sentences), key=len)
    print(f"corpus {args.corpus}: {len(articles)} articles, {len(sentences)} sentences ({len(unique)} unique)")

    embedder = make_embedder(args.model)
    embedder.encode(unique[:64])  # warm-up: first call pays one-off costs

    def raw_encode() -> float:
        t0 = time.perf_counter()
        embedder.encode(unique)
        return len(unique) / (time.perf_counter() - t0)

    def build(label: str) -> float:
        t0 = time.perf_counter()
        report = write(Path(tmp) / "ix", embedder, articles, fresh=True)
        seconds = time.perf_counter() - t0
        print(f"{label}: {report.sentences_total / seconds:8.1f} sentences/s  ({seconds:.2f}s, "
              f"{report.sentences_embedded} embedded, {report.sentences_reused} reused)")
        return report.sentences_total / seconds

    with tempfile.TemporaryDirectory() as tmp:
        # raw encode and build alternate, so drift in machine load hits both alike
        raw, builds = [raw_encode()], []
        print(f"raw encode:      {raw[-1]:8.1f} sentences/s")
        first = build("first build (+ one-time ONNX export)")
        for n in range(args.rounds):
            raw.append(raw_encode())
            print(f"raw encode:      {raw[-1]:8.1f} sentences/s")
            builds.append(build(f"rebuild {n + 1} (encoder already exported)"))
        r = statistics.median(raw)
        print(f"build / raw encode throughput (medians): {statistics.median(builds) / r:.2f} "
              f"(first build with the ONNX export: {first / r:.2f})")

        index_dir = Path(tmp) / "ix"
        env = dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_MODEL=args.model)
        cli = [str(Path(sys.executable).parent / "citebot"), "ask", "--json", "Who co-chaired the session?"]
        times = []
        for _ in range(args.asks):
            t0 = time.perf_counter()
            subprocess.run(cli, env=env, cwd=ROOT, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        print(f"cold `citebot ask` wall: median {statistics.median(times):.2f}s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
