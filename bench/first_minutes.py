"""The first minutes on a machine: preparing the model cache, building indexes, adding an article, asking,
each beside the time of `import sentence_transformers` in a fresh process, in the same run.

    .venv/bin/python -m bench.first_minutes [--runs 3] [--fresh-cache]

Runs the real `citebot` commands in fresh processes: `citebot prepare` (with --fresh-cache, into an
empty model cache, as on a new machine; else the cache the CLI uses here), `index build` of the
sample articles (the first index), `index build` of the seeds (a second index; the samples when
../shared is absent), `index add` of one new article to it, and a cold `ask`. Prints each command's
median wall time and the index sizes on disk, and their ratios to the reference.
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

from bench.cold_ask import import_st
from bench.corpora import ROOT, SHARED, model_cache
from bench.timing import machine_reference
from citebot.index.embed.model_cache import size_of

CLI = str(Path(sys.executable).parent / "citebot")
STORY = "Tartu will reopen tram line 4 next spring after a two-year rebuild, the city council said on {n}."


def timed_run(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([CLI, *args], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fresh-cache", action="store_true", help="time `citebot prepare` into an empty model cache")
    args = ap.parse_args()
    print(machine_reference())
    reference = import_st(args.runs)
    print(f"reference: `import sentence_transformers` in a fresh process, median of {args.runs}: {reference:.2f}s")
    seeds = SHARED / "seeds" if (SHARED / "seeds").is_dir() else ROOT / "examples" / "articles"
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache" if args.fresh_cache else model_cache()
        env = dict(os.environ, CITEBOT_CACHE_DIR=str(cache), CITEBOT_RERANKER="builtin")
        env.pop("CITEBOT_MODEL", None)
        prepare = timed_run(["prepare"], env)
        print(f"citebot prepare{' (empty cache)' if args.fresh_cache else ''}: {prepare:.1f}s; model cache "
              f"{size_of(cache) / 1e6:.0f} MB, reranker and answerability {size_of(cache / 'reranker') / 1e6:.0f} MB")
        rows: dict[str, list[float]] = {"first index (samples) build": [], "second index (seeds) build": [],
                                        "index add of one article": [], "cold ask": []}
        sizes: dict[str, int] = {}
        for run in range(args.runs):
            first, second = Path(tmp) / f"first-{run}", Path(tmp) / f"second-{run}"
            rows["first index (samples) build"].append(
                timed_run(["index", "build", str(ROOT / "examples" / "articles"), "--index-dir", str(first)], env))
            rows["second index (seeds) build"].append(timed_run(["index", "build", str(seeds), "--index-dir", str(second)], env))
            story = Path(tmp) / f"tram-{run}.txt"
            story.write_text(STORY.format(n=run), encoding="utf-8")
            rows["index add of one article"].append(timed_run(["index", "add", str(story), "--index-dir", str(second)], env))
            rows["cold ask"].append(timed_run(["ask", "--json", "When will the tram line reopen?", "--index-dir", str(second)], env))
            sizes = {"first index": size_of(first), "second index": size_of(second)}
        for name, walls in rows.items():
            wall = statistics.median(walls)
            print(f"  {name:<30} {wall:6.2f}s  ({wall / reference:.0%} of the import; {reference / wall:.1f}x faster)")
        for name, size in sizes.items():
            print(f"  {name} on disk: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
