"""The built-in reranker's precision and how it scores pairs: speed against faithfulness to the network.

    .venv/bin/python -m bench.rerank_precision [--index-dir /tmp/citebot-eval/all] [--questions 160]

Every question's pairs are what `ask` reads (rerank() itself picks them: the hybrid retrieval's first
10 distinct sentences, as (question, title | sentence)). The variants all come from the index's fp32
export of the shipped reranker (exported first when missing); the int8 ones are quantised from it in
a temporary folder:
  fp32 side by side         OnnxReranker as `ask` runs it: each pair alone, on one-thread sessions side by side
  fp32 alone, in turn       OnnxReranker(pairs_in_parallel=False): each pair alone, one session with all threads
  fp32 one batch            the 10 pairs padded to the longest, one run
  int8 one batch            dynamic int8 (per-channel weights), one padded batch (the int8 export compared)
  int8 alone                the same model, each pair alone
  int8 but FFN, alone       the feed-forward matmuls kept in fp32, each pair alone
Printed per variant: ms per question (best of --rounds), the mean and 90th percentile of
|logit - the fp32 network's| (fp32 alone), how many questions' best sentence changes, and how far a
pair's logit moves between its batch and alone (whether a score depends on the other candidates).
Run bench.eval_squad first to build the SQuAD index.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD, model_cache
from bench.eval_squad import questions
from bench.timing import machine_reference
from citebot.bot.answer import GROUP_POOL
from citebot.index.embed.choose import query_embedder
from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.embed.onnx_runtime import default_threads, inference_session, padded_feeds, quantize_int8
from citebot.index.search.hybrid import HybridSearch
from citebot.index.search.rerank import ARTIFACT, OnnxReranker, export, export_dir, has_export, rerank
from citebot.index.store.local.reader import IndexReader

Scorer = Callable[[str, list[str]], np.ndarray]  # a question and its passages -> one logit each


class Recorder:
    """A Reranker that keeps what rerank() hands it: the pairs `ask` reads."""

    name = "recorder"
    answerability = None

    def __init__(self) -> None:
        self.read: list[tuple[str, list[str]]] = []

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        self.read.append((question, passages))
        return np.zeros(len(passages))


def pairs_of(index_dir: Path, n: int) -> list[tuple[str, list[str]]]:
    """For ``n`` SQuAD questions, the passages the reranker reads in `ask` (the question's first
    RERANK_TOP distinct sentences of the hybrid retrieval)."""
    reader = IndexReader.open(index_dir, model=DEFAULT_MODEL)
    embedder = query_embedder(DEFAULT_MODEL, model_cache())
    search = HybridSearch(reader)
    recorder = Recorder()
    for q in [q["question"] for q in questions(SQUAD)][:: max(1, 5609 // n)][:n]:
        rerank(q, search.search(q, embedder.encode([q])[0], GROUP_POOL), recorder)
    return recorder.read


def feed_forward(model: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and ("/intermediate/dense/" in n.name
                                                                      or ("/output/dense/" in n.name and "/attention/" not in n.name))]


def alone(session, tokenizer) -> Scorer:  # type: ignore[no-untyped-def]
    def score(question: str, passages: list[str]) -> np.ndarray:
        encodings = tokenizer.encode_batch([(question, p) for p in passages])
        return np.asarray([float(session.run(None, padded_feeds([e]))[0].reshape(-1)[0]) for e in encodings])
    return score


def batched(session, tokenizer) -> Scorer:  # type: ignore[no-untyped-def]
    def score(question: str, passages: list[str]) -> np.ndarray:
        feeds = padded_feeds(tokenizer.encode_batch([(question, p) for p in passages]))
        return session.run(None, feeds)[0].reshape(-1).astype(np.float64)
    return score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, default=Path("/tmp/citebot-eval/all"))
    ap.add_argument("--questions", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import onnx

    threads = default_threads()
    if not has_export(model_cache(), ARTIFACT):
        export(model_cache(), ARTIFACT)
    directory = export_dir(model_cache(), ARTIFACT)
    questions_pairs = pairs_of(args.index_dir, args.questions)
    with tempfile.TemporaryDirectory() as tmp:
        model = directory / "model.onnx"
        int8, mixed = Path(tmp) / "int8.onnx", Path(tmp) / "int8-ffn-fp32.onnx"
        fused = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # the saved graph is fused: shape inference cannot type it
        quantize_int8(model, int8, extra_options=fused)
        quantize_int8(model, mixed, extra_options=fused, nodes_to_exclude=feed_forward(model))
        shipped, in_turn = OnnxReranker(directory), OnnxReranker(directory, pairs_in_parallel=False)  # loaded as `ask` loads them
        int8_all = inference_session(int8, threads)
        tokenizer = in_turn.tokenizer
        variants: dict[str, Scorer] = {
            "fp32 side by side": shipped.score,
            "fp32 alone, in turn": in_turn.score,
            "fp32 one batch": batched(in_turn.session, tokenizer),
            "int8 one batch": batched(int8_all, tokenizer),
            "int8 alone": alone(int8_all, tokenizer),
            "int8 but FFN, alone": alone(inference_session(mixed, threads), tokenizer),
        }
        logits = {name: [score(q, passages) for q, passages in questions_pairs] for name, score in variants.items()}
        ms: dict[str, float] = {}
        for name, score in variants.items():
            rounds = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                for q, passages in questions_pairs:
                    score(q, passages)
                rounds.append((time.perf_counter() - t0) / len(questions_pairs) * 1000)
            ms[name] = min(rounds)
    print(machine_reference())
    print(f"{len(questions_pairs)} questions, {sum(len(p) for _, p in questions_pairs)} pairs; per variant: ms per question "
          f"(best of {args.rounds}), |logit - fp32 alone| mean (p90), questions whose best sentence changed")
    reference = logits["fp32 alone, in turn"]
    for name in variants:
        diff = np.concatenate([np.abs(a - b) for a, b in zip(logits[name], reference, strict=True)])
        changed = sum(int(np.argmax(a) != np.argmax(b)) for a, b in zip(logits[name], reference, strict=True))
        print(f"  {name:24s} {ms[name]:6.1f} ms   {diff.mean():.3f} ({np.quantile(diff, 0.9):.3f})   {changed}/{len(reference)}")
    for precision, one_by_one in (("fp32", "fp32 alone, in turn"), ("int8", "int8 alone")):
        moved = np.concatenate([np.abs(a - b) for a, b in zip(logits[f"{precision} one batch"], logits[one_by_one], strict=True)])
        print(f"  {precision}: a pair's logit in its batch against alone differs by {moved.mean():.2g} on average (max {moved.max():.2g})")

if __name__ == "__main__":
    main()
