"""Cold `citebot ask`: how long a fresh process takes to answer, where the time goes, and the reference
it is measured against (`import sentence_transformers` in a fresh process, in the same run).

    .venv/bin/python -m bench.cold_ask [--runs 7] [--agreement 1000]

For an index of the seeds (or the samples when ../shared is absent) and one of ~11k sentences (the
SQuAD half's paragraphs plus its questions as one-sentence articles), prints the median wall time
and peak RSS of a fresh `citebot ask --json` process: as shipped (ONNX encoder, built-in reranker and
answerability model), with the reranker alone, without it, and on the sentence-transformers (torch)
path; the ratio of `import sentence_transformers` to the cold ask; then the phases of one cold ask
measured one after the other in a fresh process (imports, opening the index, each model's session
and tokenizer, the question itself), and how often the ONNX and torch paths give the same top 10.
The models come from the model cache (`citebot prepare` fills it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpora import ROOT, SHARED, SQUAD, corpus, model_cache, squad_articles
from bench.eval_squad import questions
from bench.timing import machine_reference
from citebot.bot.answer import Answerer
from citebot.index.embed.choose import onnx_encoder
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.embed.onnx_encoder import OnnxQueryEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.search.rerank import ARTIFACT, ensure_export
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write

CLI = str(Path(sys.executable).parent / "citebot")
QUESTION = "Who co-chaired the session?"

LAUNCHER = """
import resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""

PHASES = """
import json, sys, time
t0 = time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.perf_counter()))
from pathlib import Path
import citebot.bot.cli, citebot.bot.ask_command, citebot.bot.answer
mark("import citebot (cli, answering)")
import numpy, faiss, tantivy, sqlite3
mark("import numpy, faiss, tantivy")
import onnxruntime
mark("import onnxruntime")
import tokenizers
mark("import tokenizers")
from citebot.bot.config import Settings, store_for
settings = Settings.from_env()
reader = store_for(settings).reader(settings.model)
mark("open the index")
from citebot.index.embed.choose import onnx_encoder
from citebot.index.embed.onnx_runtime import inference_session
from citebot.index.search.rerank import ANSWERABILITY, ARTIFACT, OnnxReranker, export_dir
from citebot.index.search.rerank_text import pair_tokenizer
encoder = onnx_encoder(settings.model, settings.cache_dir)
mark("find the exports")
from citebot.index.embed.onnx_encoder import OPTIMIZED, encoder_info
inference_session(encoder / OPTIMIZED, optimized=encoder_info(encoder)["optimized"])
mark("encoder session")
from tokenizers import Tokenizer
Tokenizer.from_file(str(encoder / "tokenizer.json"))
mark("encoder tokenizer")
for label, artifact in (("reranker", ARTIFACT), ("answerability", ANSWERABILITY)):
    directory = export_dir(settings.cache_dir, artifact)
    info = json.loads((directory / "reranker.json").read_text())
    inference_session(directory / "model.onnx", 1, optimized=info.get("optimized"), fold=info.get("weights") == "fp16")
    mark(f"{label} session")
    pair_tokenizer(str(directory / "tokenizer.json"), int(info.get("max_length", 96)))
    mark(f"{label} tokenizer")
from citebot.bot.ask_command import open_answerer
answerer = open_answerer(settings)
mark("open_answerer again (sessions side by side)")
answerer.ask(sys.argv[1])
mark("the question (embed, search, rerank, answerability)")
last = t0
out = []
for name, at in marks:
    out.append((name, at - last))
    last = at
print(json.dumps(out))
"""


def cold(index_dir: Path, encoder: str, runs: int, reranker: str = "none") -> tuple[float, float]:
    """(median wall seconds, peak RSS MiB) of fresh `citebot ask` processes, each started by a
    tiny launcher so that the peak RSS is the ask's own, not inherited from this process."""
    env = dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_QUERY_ENCODER=encoder, CITEBOT_RERANKER=reranker)
    walls, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LAUNCHER, CLI, "ask", "--json", QUESTION],
                             env=env, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        walls.append(float(out[0]))
        peaks.append(float(out[1]))
    return statistics.median(walls), max(peaks)


def import_st(runs: int) -> float:
    """Median wall seconds of `import sentence_transformers` in a fresh process (interpreter start included)."""
    walls = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-c", "import sentence_transformers"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
        walls.append(float(out[0]))
    return statistics.median(walls)


def phases(index_dir: Path, runs: int) -> list[tuple[str, float]]:
    """The median time of each phase of a cold ask, over fresh processes."""
    env = dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_RERANKER="builtin")
    seen: dict[str, list[float]] = {}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PHASES, QUESTION], env=env, cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        for name, seconds in json.loads(out):
            seen.setdefault(name, []).append(seconds)
    return [(name, statistics.median(values)) for name, values in seen.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--agreement", type=int, default=1000, help="SQuAD questions compared between the ONNX and torch paths")
    args = ap.parse_args()
    cache = model_cache()
    ensure_export(cache, "builtin")  # as `citebot prepare` does
    directory = onnx_encoder(DEFAULT_MODEL, cache)
    assert directory is not None, "the model could not be exported"
    embedder = OnnxQueryEmbedder(directory)  # threads that do not spin: this process idles while the timed ones run
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
        print(f"indexes: small {IndexReader.open(small).manifest.sentences} sentences, large {report.sentences_total}; "
              f"model cache {cache}")
        reference = import_st(args.runs)
        print(f"reference: `import sentence_transformers` in a fresh process, median of {args.runs}: {reference:.2f}s")
        for name, index_dir in (("small", small), ("large", large)):
            full_wall, full_rss = cold(index_dir, "auto", args.runs, "builtin")
            alone_wall, _ = cold(index_dir, "auto", args.runs, str(ARTIFACT))  # the same reranker by path: no answerability model
            onnx_wall, onnx_rss = cold(index_dir, "auto", args.runs)
            torch_wall, torch_rss = cold(index_dir, "torch", args.runs)
            print(f"{name}: cold ask as shipped (ONNX + reranker + answerability) {full_wall:.2f}s ({full_rss:.0f} MiB), "
                  f"{reference / full_wall:.1f}x faster than the import | reranker alone {alone_wall:.2f}s | "
                  f"without reranker {onnx_wall:.2f}s ({onnx_rss:.0f} MiB) | sentence-transformers {torch_wall:.2f}s "
                  f"({torch_rss:.0f} MiB)")
        print(f"phases of a cold ask on the small index, one after the other (median of {args.runs} processes):")
        total = 0.0
        for name, seconds in phases(small, args.runs):
            total += seconds
            print(f"  {name:<52} {seconds * 1000:6.0f} ms")
        print(f"  {'total (sessions loaded twice: alone, then side by side)':<52} {total * 1000:6.0f} ms")
        if SQUAD.is_file() and args.agreement:
            qs = [q["question"] for q in questions(SQUAD)][: args.agreement]
            reader = IndexReader.open(large)
            fast = Answerer(reader, OnnxQueryEmbedder(directory), top_k=10)
            ref = Answerer(reader, make_embedder(DEFAULT_MODEL), top_k=10)
            same = sum(
                [a.text for a in fast.ask(q).answers] == [a.text for a in ref.ask(q).answers] for q in qs)
            print(f"top-10 identical (ONNX vs torch query encoder) on {same}/{len(qs)} SQuAD questions ({same / len(qs):.2%})")


if __name__ == "__main__":
    main()
