"""Cold `citebot ask`: the ONNX query path (as shipped, with the reranker alone, without it) next to the
sentence-transformers (torch) path.

    .venv/bin/python -m bench.cold_ask [--runs 5] [--agreement 5609]

For an index of the seeds (or the samples when ../shared is absent) and one of ~11k sentences
(the SQuAD half's paragraphs plus its questions as one-sentence articles), prints the median wall
time and peak RSS of a fresh `citebot ask` process on each path, the speed-up, and how often the
top-10 answers of the two paths are identical over the SQuAD questions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpora import ROOT, SHARED, SQUAD, corpus, squad_articles
from bench.eval_squad import questions
from bench.timing import machine_reference
from citebot.bot.answer import Answerer
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.embed.onnx_encoder import ENCODER_DIR, OnnxQueryEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.search.rerank import ARTIFACT, ensure_export
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write

CLI = str(Path(sys.executable).parent / "citebot")


LAUNCHER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def cold(index_dir: Path, encoder: str, runs: int, reranker: str = "none") -> tuple[float, float]:
    """(median wall seconds, peak RSS MiB) of fresh `citebot ask` processes, each started by a
    tiny launcher so that the peak RSS is the ask's own, not inherited from this process."""
    env = dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_QUERY_ENCODER=encoder, CITEBOT_RERANKER=reranker)
    walls, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LAUNCHER, CLI, "ask", "--json", "Who co-chaired the session?"],
                             env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        walls.append(float(out[0]))
        peaks.append(float(out[1]))
    return statistics.median(walls), max(peaks)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--agreement", type=int, default=5609, help="SQuAD questions compared between the paths")
    args = ap.parse_args()
    embedder = make_embedder(DEFAULT_MODEL)
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        seeds = SHARED / "seeds"
        write(small, embedder, load([seeds if seeds.is_dir() else ROOT / "examples" / "articles"])[0], fresh=True)
        articles = squad_articles()
        if SQUAD.is_file():
            articles += [make_article(q["question"].rstrip("?") + "?", None, id=f"q/{q['id']}") for q in questions(SQUAD)]
        else:
            articles = corpus("samples")
        report = write(large, embedder, articles, fresh=True)
        print(machine_reference())
        print(f"indexes: small {IndexReader.open(small).manifest.sentences} sentences, large {report.sentences_total}")
        for name, index_dir in (("small", small), ("large", large)):
            ensure_export(index_dir, "builtin")  # as `citebot index build` does
            full_wall, full_rss = cold(index_dir, "auto", args.runs, "builtin")
            alone_wall, _ = cold(index_dir, "auto", args.runs, str(ARTIFACT))  # the same reranker by path: no answerability model
            onnx_wall, onnx_rss = cold(index_dir, "auto", args.runs)
            torch_wall, torch_rss = cold(index_dir, "torch", args.runs)
            print(f"{name}: cold ask as shipped (ONNX + reranker + answerability) {full_wall:.2f}s ({full_rss:.0f} MiB) | "
                  f"reranker alone {alone_wall:.2f}s | without reranker "
                  f"{onnx_wall:.2f}s ({onnx_rss:.0f} MiB) | sentence-transformers {torch_wall:.2f}s "
                  f"({torch_rss:.0f} MiB) | ONNX {torch_wall / onnx_wall:.1f}x faster")
        if SQUAD.is_file() and args.agreement:
            qs = [q["question"] for q in questions(SQUAD)][: args.agreement]
            reader = IndexReader.open(Path(tmp) / "large")
            fast = Answerer(reader, OnnxQueryEmbedder(large / ENCODER_DIR), top_k=10)
            ref = Answerer(reader, embedder, top_k=10)
            same = sum(
                [a.text for a in fast.ask(q).answers] == [a.text for a in ref.ask(q).answers] for q in qs)
            print(f"top-10 identical on {same}/{len(qs)} SQuAD questions ({same / len(qs):.2%})")


if __name__ == "__main__":
    main()
