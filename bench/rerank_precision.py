"""The built-in reranker's precision and how it scores pairs: speed against faithfulness to the network.

    .venv/bin/python -m bench.rerank_precision [--index-dir /tmp/citebot-eval/all] [--questions 160]

Every question's pairs are what `ask` reads: the hybrid retrieval's first 10 distinct sentences, as
(question, title | sentence). The variants all come from the index's fp32 export of the shipped
reranker (exported first when missing); the int8 ones are quantised from it in a temporary folder:
  fp32 side by side         as shipped: each pair alone, the pairs on one-thread sessions side by side
  fp32 alone, in turn       each pair alone on one session with all threads
  fp32 one batch            the 10 pairs padded to the longest, one run
  int8 one batch            dynamic int8 (per-channel weights), one padded batch: shipped until 2026-12-04
  int8 alone                the same model, each pair alone
  int8 but FFN, alone       the feed-forward matmuls kept in fp32, each pair alone
Printed per variant: ms per question (best of --rounds), the mean and 90th percentile of
|logit - the fp32 network's| (fp32 alone), how many questions' best sentence changes, and how far a
pair's logit moves between its batch and alone (whether a score depends on the other candidates).
Run bench.eval_squad first to build the SQuAD index.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from bench.corpora import SQUAD
from bench.eval_squad import questions
from bench.timing import machine_reference
from citebot.bot.answer import GROUP_POOL
from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.embed.onnx_encoder import inference_session, padded_feeds, query_embedder
from citebot.index.search.hybrid import HybridSearch
from citebot.index.search.rerank import ARTIFACT, RERANK_TOP, export, export_dir, has_export, passage_of
from citebot.index.search.rerank_text import pair_tokenizer
from citebot.index.store.reader import IndexReader

Scorer = Callable[[list], np.ndarray]  # tokenizer encodings of one question's pairs -> logits


def pairs_of(index_dir: Path, n: int) -> list[list[tuple[str, str]]]:
    """For ``n`` SQuAD questions, the (question, passage) pairs the reranker reads in `ask`."""
    reader = IndexReader.open(index_dir, model=DEFAULT_MODEL)
    embedder = query_embedder(DEFAULT_MODEL, index_dir)
    search = HybridSearch(reader)
    out = []
    for q in [q["question"] for q in questions(SQUAD)][:: max(1, 5609 // n)][:n]:
        seen: set[str] = set()
        pairs = []
        for hit in search.search(q, embedder.encode([q])[0], GROUP_POOL).hits:
            key = " ".join(hit.text.lower().split())
            if key not in seen:
                seen.add(key)
                pairs.append((q, passage_of(hit)))
            if len(pairs) == RERANK_TOP:
                break
        out.append(pairs)
    return out


def quantised(source: Path, target: Path, keep_fp32: list[str]) -> Path:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice on the root logger
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=keep_fp32,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # the saved graph is already fused
    finally:
        root.setLevel(level)
    return target


def feed_forward(model: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and ("/intermediate/dense/" in n.name
                                                                      or ("/output/dense/" in n.name and "/attention/" not in n.name))]


def alone(session) -> Scorer:  # type: ignore[no-untyped-def]
    return lambda encs: np.asarray([float(session.run(None, padded_feeds([e]))[0].reshape(-1)[0]) for e in encs])


def batched(session) -> Scorer:  # type: ignore[no-untyped-def]
    return lambda encs: session.run(None, padded_feeds(encs))[0].reshape(-1).astype(np.float64)


def side_by_side(session, pool: ThreadPoolExecutor) -> Scorer:  # type: ignore[no-untyped-def]
    return lambda encs: np.concatenate(list(pool.map(alone(session), [[e] for e in encs])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index-dir", type=Path, default=Path("/tmp/citebot-eval/all"))
    ap.add_argument("--questions", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    threads = min(4, os.cpu_count() or 1)
    if not has_export(args.index_dir, ARTIFACT):
        export(args.index_dir, ARTIFACT)
    directory = export_dir(args.index_dir, ARTIFACT)
    tokenizer = pair_tokenizer(str(directory / "tokenizer.json"))
    questions_pairs = [tokenizer.encode_batch(pairs) for pairs in pairs_of(args.index_dir, args.questions)]
    with tempfile.TemporaryDirectory() as tmp:
        model = directory / "model.onnx"
        int8 = quantised(model, Path(tmp) / "int8.onnx", [])
        mixed = quantised(model, Path(tmp) / "int8-ffn-fp32.onnx", feed_forward(model))
        saved = json.loads((directory / "reranker.json").read_text(encoding="utf-8")).get("optimized")  # loaded as `ask` does
        fp32_all, int8_all = inference_session(model, threads, optimized=saved), inference_session(int8, threads)
        variants: dict[str, Scorer] = {
            "fp32 side by side": side_by_side(inference_session(model, 1, optimized=saved), ThreadPoolExecutor(threads)),
            "fp32 alone, in turn": alone(fp32_all),
            "fp32 one batch": batched(fp32_all),
            "int8 one batch": batched(int8_all),
            "int8 alone": alone(int8_all),
            "int8 but FFN, alone": alone(inference_session(mixed, threads)),
        }
        logits = {name: [score(encs) for encs in questions_pairs] for name, score in variants.items()}
        ms: dict[str, float] = {}
        for name, score in variants.items():
            rounds = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                for encs in questions_pairs:
                    score(encs)
                rounds.append((time.perf_counter() - t0) / len(questions_pairs) * 1000)
            ms[name] = min(rounds)
    print(machine_reference())
    print(f"{len(questions_pairs)} questions, {sum(len(e) for e in questions_pairs)} pairs; per variant: ms per question "
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
