"""Scale: build and query synthetic indexes of 100k / 1M sentences.

    .venv/bin/python -m bench.scale --sentences 100000 [--sentences 1000000 ...] [--keep DIR [--reuse]]

Sentence texts are synthetic (SQuAD vocabulary) and their vectors are generated, not embedded:
each is a random mix of two real all-MiniLM-L6-v2 sentence vectors plus a little noise, so the
vectors have the shape of real ones at a fraction of the cost. Everything else is the real
pipeline: the writer (splitting, SQLite, tantivy, FAISS, automatic switch to IVF above
index.ann.ANN_THRESHOLD), the reader, the hybrid ask with the exported ONNX query encoder on real
SQuAD questions. Prints build time, the index's size on disk and the peak RSS of the process that built it (which
holds nothing else: the articles to write and the writer), the index type, recall@10 of the index against
exact search, warm ask latency p50/p90 (embedding included) and the RSS of a serving process.
Each synthetic article has an outlet (one of 20) and a date (one of 365 days of 2025), and the same
questions are asked limited to one outlet, one day and one month: recall@10 of the filtered dense
search against exact search over the filter's sentences, and the filtered ask's p50 beside the
unfiltered one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bench.corpora import ROOT, SQUAD, corpus, model_cache
from bench.eval_squad import questions
from bench.timing import p50_p90, reference_ms, timed
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.sentences import split_article
from citebot.index.store.base import Filter
from citebot.index.store.local.ann import describe
from citebot.index.store.local.generations import current_generation

PER_ARTICLE = 20
OUTLETS = 20
FILTERS = {"one outlet": Filter(sources=("Outlet 3",)), "one day": Filter(since=date(2025, 3, 14), until=date(2025, 3, 14)),
           "one month": Filter(since=date(2025, 6, 1), until=date(2025, 6, 30))}


class MixtureEmbedder:
    """Deterministic vectors shaped like real ones: mix of two real vectors chosen by text hash."""

    def __init__(self, real: np.ndarray, name: str) -> None:
        self.real = real
        self.name = name
        self.dimension = real.shape[1]
        self.encoded = 0

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        out = np.empty((len(texts), self.dimension), np.float32)
        for n, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            rng = np.random.default_rng(seed)
            i, j = rng.integers(0, len(self.real), 2)
            a = rng.uniform(0.5, 1.0)
            v = a * self.real[i] + (1 - a) * self.real[j] + 0.05 * rng.standard_normal(self.dimension)
            out[n] = v / np.linalg.norm(v)
        self.encoded += len(texts)
        if progress:
            progress(len(texts))
        return out


def real_vectors(work: Path, embedder) -> np.ndarray:  # type: ignore[no-untyped-def]
    cache = work / "real-vectors.npy"
    if cache.exists():
        return np.load(cache)
    texts = [s.text for a in corpus("squad" if SQUAD.is_file() else "samples") for s in split_article(a)]
    vectors = embedder.encode(texts)
    np.save(cache, vectors)
    return vectors


def synthetic_articles(sentences: int, vocabulary: list[str], seed: int = 1) -> list:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    out = []
    for a in range(0, sentences // PER_ARTICLE):
        words = rng.choice(vocabulary, (PER_ARTICLE, 9))
        body = "\n".join(f"Report {a}-{k} says {' '.join(w)}." for k, w in enumerate(words))
        out.append(make_article(body, None, id=f"syn-{a}", title=f"Synthetic report {a}", source=f"Outlet {a % OUTLETS}",
                                published=(date(2025, 1, 1) + timedelta(days=a % 365)).isoformat()))
    return out


BUILD = """
import json, sys, time
from pathlib import Path
import numpy as np
from bench.scale import MixtureEmbedder, synthetic_articles
from citebot.index.store.local.writer import write
def rss(field):
    status = Path("/proc/self/status").read_text()
    return int(next(l for l in status.splitlines() if l.startswith(field)).split()[1]) / 1024
size, index_dir, work, name = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
articles = synthetic_articles(size, json.loads((work / "vocabulary.json").read_text(encoding="utf-8")))
embedder = MixtureEmbedder(np.load(work / "real-vectors.npy"), name)
before = rss("VmRSS:")
t0 = time.perf_counter()
report = write(index_dir, embedder, articles, fresh=True)
print(json.dumps({"seconds": time.perf_counter() - t0, "peak": rss("VmHWM:"), "before": before,
                  "sentences": report.sentences_total, "articles": report.articles_total}))
"""

SERVE = """
import json, sys, time
from datetime import date, timedelta
from pathlib import Path
from citebot.bot.answer import Answerer
from citebot.index.embed.choose import query_embedder
from citebot.index.store.open import open_store
store = open_store(sys.argv[3], Path(sys.argv[1]), sys.argv[4] or None)
reader = store.reader()
answerer = Answerer(reader, query_embedder(reader.manifest.model, Path(sys.argv[5])), top_k=5)
from bench.timing import p50_p90, timed
qs = json.loads(sys.argv[2])
for q in qs[:20]:
    answerer.ask(q)
p50, p90 = p50_p90(timed(answerer.ask, qs)[1])
def hwm(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(l for l in status.splitlines() if l.startswith(("VmHWM", "VmRSS"))).split()[1]) / 1024
children = [int(c) for t in Path("/proc/self/task").iterdir() for c in (t / "children").read_text().split()]
print(hwm("self"), sum(hwm(c) for c in children), p50, p90, "torch" in sys.modules)
"""


def recall_at_10(reader, queries: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    import faiss

    index = reader.vectors
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return 1.0
    n = index.ntotal
    ids = np.empty(n, np.int64)
    exact = [np.full((0,), -np.inf)] * len(queries)
    best = [np.zeros(0, np.int64)] * len(queries)
    invlists = ivf.invlists
    pos = 0
    for lst in range(ivf.nlist):  # every stored vector, list by list, scored exactly
        size = invlists.list_size(lst)
        if not size:
            continue
        list_ids = faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy()
        vecs = np.vstack([index.reconstruct(int(i)) for i in list_ids]) if size < 64 else \
            index.reconstruct_batch(list_ids)
        scores = queries @ vecs.T
        for q in range(len(queries)):
            allscores = np.concatenate([exact[q], scores[q]])
            allids = np.concatenate([best[q], list_ids])
            top = np.argsort(-allscores)[:10]
            exact[q], best[q] = allscores[top], allids[top]
        ids[pos: pos + size] = list_ids
        pos += size
    _, found = index.search(queries.astype(np.float32), 10)
    return float(np.mean([len(set(found[q]) & set(best[q])) / 10 for q in range(len(queries))]))


def recall(found: list, exact: list[set[int]], k: int) -> float:  # type: ignore[type-arg]
    """The mean share of each query's exact top k (a set: fewer ids when fewer are allowed) that a search found."""
    return float(np.mean([len(set(np.asarray(f).tolist()) & e) / max(1, min(k, len(e))) for f, e in zip(found, exact, strict=True)]))


def exact_among(reader, queries: np.ndarray, allowed: np.ndarray, k: int = 10) -> list[set[int]]:  # type: ignore[no-untyped-def]
    """Each query's exact top-k sentence ids among ``allowed``, scored over their stored vectors."""
    scores = queries @ reader.sentence_vectors(allowed).T
    return [set(allowed[np.argsort(-row)[:k]].tolist()) for row in scores]


def exact_articles(reader, queries: np.ndarray, k: int = 5) -> list[set[int]]:  # type: ignore[no-untyped-def]
    """Each query's exact top-k article rowids over every article vector."""
    rowids = np.asarray([r[0] for r in reader.db.execute("SELECT rowid FROM articles ORDER BY rowid")], np.int64)
    scores = np.concatenate([queries @ reader.article_vectors_of(rowids[s:s + 50_000]).T for s in range(0, len(rowids), 50_000)], axis=1)
    return [set(row.tolist()) for row in rowids[np.argsort(-scores, axis=1)[:, :k]]]


def article_recall_at_5(reader, queries: np.ndarray, exact: list[set[int]] | None = None) -> float:  # type: ignore[no-untyped-def]
    """Recall@5 of the article vector search (what brings every sentence of the best articles in) against
    exact search over every article vector (``exact``, when already worked out)."""
    found = [reader.dense_articles(q[None, :].astype(np.float32), 5)[0] for q in queries]
    return recall(found, exact if exact is not None else exact_articles(reader, queries), 5)


def milvus_figures(local_dir: Path, articles: list, embedder, qs: list[str], qvec: np.ndarray,  # type: ignore[type-arg, no-untyped-def]
                   index_type: str) -> None:
    """The same corpus in Milvus (milvus-lite in the same workspace): build, recall, ask latency, RSS."""
    from citebot.bot.answer import Answerer
    from citebot.index.embed.choose import query_embedder
    from citebot.index.store.local.store import LocalStore
    from citebot.index.store.milvus.store import MilvusStore

    uri = str(local_dir.parent / "milvus.db")
    store = MilvusStore(local_dir, uri, index_type=index_type)
    t0 = time.perf_counter()
    report = store.write(embedder, articles, fresh=True)
    build = time.perf_counter() - t0
    print(f"  milvus ({index_type}, milvus-lite): built in {build:.0f}s ({report.sentences_total / build:.0f} sentences/s)")
    reader = store.reader()
    local = LocalStore(local_dir).reader()
    exact = exact_top10(local, qvec)
    found = [reader.dense_sentences(q.reshape(1, -1), 10)[0] for q in qvec]
    recall = float(np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))
    print(f"  milvus recall@10 against exact search: {recall:.4f}")
    warm_ask(Answerer(reader, query_embedder(embedder.name, model_cache()), top_k=5), qs, "milvus warm ask")
    local.close()
    store.close()  # milvus-lite: one process per file (closing stops the embedded engine); the serving process opens it next
    proc = subprocess.run([sys.executable, "-c", SERVE, str(local_dir), json.dumps(qs), "milvus", uri, str(model_cache())], cwd=ROOT,
                          capture_output=True, text=True)
    if proc.returncode:
        print("  milvus serving process failed:", proc.stderr.strip().splitlines()[-1:])
        return
    own, children, p50, p90 = (float(x) for x in proc.stdout.split()[:4])
    print(f"  milvus serving process: warm ask p50 {p50:.1f} ms, p90 {p90:.1f} ms; peak RSS ({len(qs)} questions) {own:.0f} MiB"
          + (f", plus a milvus-lite server process {children:.0f} MiB" if children else " (milvus-lite's engine runs inside it)"))


def warm_ask(answerer, qs: list[str], label: str) -> float:  # type: ignore[no-untyped-def]
    """Prints the p50 and p90 of asking ``qs`` after 20 warm-up questions; returns the p50 (ms)."""
    for q in qs[:20]:
        answerer.ask(q)
    before = reference_ms()
    p50, p90 = p50_p90(timed(answerer.ask, qs)[1])
    after = reference_ms()
    print(f"  {label} (ONNX query encoder, hybrid): p50 {p50:.1f} ms, p90 {p90:.1f} ms "
          f"(machine reference before / after: {before:.2f} / {after:.2f} ms, ~5.4 on a quiet day)")
    return float(p50)


def exact_top10(reader, queries: np.ndarray) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Exact inner-product top 10 over every stored vector (in blocks of the sentence table's ids)."""
    ids = reader.sentence_ids()
    best_scores = np.full((len(queries), 0), -np.inf, np.float32)
    best_ids = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(ids), 50_000):
        block = ids[start:start + 50_000]
        scores = queries @ reader.sentence_vectors(block).T
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, np.broadcast_to(block, (len(queries), len(block)))], axis=1)
        top = np.argsort(-all_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return list(best_ids)


def filtered_figures(reader, answerer, qs: list[str], qvec: np.ndarray, unfiltered_p50: float) -> None:  # type: ignore[no-untyped-def]
    """Recall@10 of the filtered dense search against exact search over the filter's sentences, and the
    filtered ask's p50 beside the unfiltered one."""
    for label, where in FILTERS.items():
        allowed = reader.allowed_sentences(where)
        found = [reader.dense_sentences(q[None, :].astype(np.float32), 10, where)[0] for q in qvec]
        filtered_recall = recall(found, exact_among(reader, qvec, allowed), 10)
        ms = timed(lambda q, w=where: answerer.ask(q, since=w.since, until=w.until, sources=w.sources, literal=True), qs)[1]
        p50, _ = p50_p90(ms)
        print(f"  filtered to {label} ({len(allowed)} sentences): recall@10 against exact filtered search {filtered_recall:.4f}; "
              f"ask p50 {p50:.1f} ms ({p50 / unfiltered_p50:.2f}x the unfiltered question)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, action="append", help="sizes to build (repeatable)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-scale"))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--profile", action="store_true", help="profile 50 asks")
    ap.add_argument("--keep", type=Path, help="keep each index in KEEP/SIZE (for bench.probes) instead of deleting it")
    ap.add_argument("--reuse", action="store_true", help="with --keep: measure an index already kept there instead of building it")
    ap.add_argument("--store", choices=("local", "milvus"), default="local",
                    help="milvus: also build the same corpus in Milvus (milvus-lite) and print its figures beside the local store's")
    ap.add_argument("--milvus-index", default="FLAT", help="Milvus index type for the sentence vectors (FLAT = exact)")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # each figure is on record as soon as it is printed
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = args.sentences or [100_000]
    st = make_embedder(DEFAULT_MODEL)
    real = real_vectors(args.work, st)
    qs = [q["question"] for q in questions(SQUAD)][:: 7][: args.queries] if SQUAD.is_file() else ["Who co-chaired?"] * 50
    qvec = st.encode(qs)
    vocabulary = sorted({w for s in qs for w in s.lower().split() if w.isalpha() and len(w) > 3}) or ["word"]
    for size in sizes:
        with tempfile.TemporaryDirectory(dir=args.work) if args.keep is None else nullcontext(args.keep) as tmp:
            index_dir = Path(tmp) / ("ix" if args.keep is None else str(size))
            (args.work / "vocabulary.json").write_text(json.dumps(vocabulary), encoding="utf-8")
            reuse = args.reuse and current_generation(index_dir) is not None
            if not reuse:
                built = json.loads(subprocess.run([sys.executable, "-c", BUILD, str(size), str(index_dir), str(args.work), st.name],
                                                  cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
            from citebot.index.store.local.reader import IndexReader

            reader = IndexReader.open(index_dir)
            live = current_generation(index_dir)
            assert live is not None
            on_disk = sum(p.stat().st_size for p in live.rglob("*") if p.is_file()) / 2**30
            if reuse:
                print(f"{reader.manifest.sentences} sentences / {reader.manifest.articles} articles: the index kept in {index_dir} "
                      f"(not rebuilt); index {reader.manifest.faiss}, {on_disk:.2f} GiB on disk")
            else:
                print(f"{built['sentences']} sentences / {built['articles']} articles: built in {built['seconds']:.0f}s "
                      f"({built['sentences'] / built['seconds']:.0f} sentences/s, generated vectors); index {reader.manifest.faiss}, "
                      f"{on_disk:.2f} GiB on disk; build process peak RSS {built['peak'] / 1024:.2f} GiB "
                      f"({built['peak'] / 1024 / on_disk:.2f}x the index), of which {built['before'] / 1024:.2f} GiB held before "
                      f"the build began (interpreter, the {built['articles']} articles to write)")
            articles = synthetic_articles(size, vocabulary) if args.store == "milvus" else []
            print(f"  recall@10 against exact search: {recall_at_10(reader, qvec):.4f}")
            print(f"  articles: {reader.article_vectors.ntotal} vectors, {describe(reader.article_vectors)}; "
                  f"recall@5 against exact search {article_recall_at_5(reader, qvec):.4f}")
            from citebot.bot.answer import Answerer
            from citebot.index.embed.choose import query_embedder

            answerer = Answerer(reader, query_embedder(st.name, model_cache()), top_k=5)
            p50 = warm_ask(answerer, qs, "warm ask in this process (torch loaded: it embedded the questions)")
            filtered_figures(reader, answerer, qs, qvec, p50)
            if args.profile:
                import cProfile
                import pstats

                cProfile.runctx("for q in qs[:50]: answerer.ask(q)", globals(), {"answerer": answerer, "qs": qs},
                                str(args.work / "ask.prof"))
                pstats.Stats(str(args.work / "ask.prof")).sort_stats("tottime").print_stats(12)
            reader.close()
            del answerer, reader  # the serving process loads the index again: this one's copy goes first
            serve = [sys.executable, "-c", SERVE, str(index_dir), json.dumps(qs), "local", "", str(model_cache())]
            serving = subprocess.run(serve, cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
            print(f"  serving process (as `citebot` serves: torch loaded: {serving[4]}): warm ask p50 {float(serving[2]):.1f} ms, "
                  f"p90 {float(serving[3]):.1f} ms; peak RSS (index loaded, {len(qs)} questions) {float(serving[0]):.0f} MiB")
            if args.store == "milvus":
                milvus_figures(index_dir, articles, MixtureEmbedder(real, st.name), qs, qvec, args.milvus_index)


if __name__ == "__main__":
    main()
