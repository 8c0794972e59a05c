"""A query encoder that needs neither torch nor sentence-transformers: ONNX Runtime + tokenizers.

The sentence-transformers model (transformer, pooling and normalisation together) is exported once
per machine into the model cache (embed/model_cache.py) and checked to give the same vectors. It
embeds both the sentences of an index and the questions, so neither ``citebot ask`` nor ``index
add`` imports torch (~8 s here) once the export exists. The sentence-transformers path stays the
reference (CITEBOT_QUERY_ENCODER=torch, CITEBOT_BUILD_ENCODER=torch) and the tests compare the two.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from citebot.index.embed.embedders import Embedder, Progress, SentenceTransformerEmbedder
from citebot.index.embed.onnx_runtime import (
    EXPORTED_FILES,
    file_sizes,
    inference_session,
    padded_feeds,
    quantize_int8,
    replace_dir,
    save_optimized,
    weights_file,
)

log = logging.getLogger("citebot.encoder")
MAX_BATCH = 64
OPTIMIZED = "model-opt.onnx"
PROBES = [
    "Who co-chaired the session?",
    "The 11th Session of the India-Russia Working Group on Modernisation and Industrial Cooperation was held here.",
    "Bilateral trade grew from $1.4 billion in 1995 to $68.7 billion in 2024-25.",
    "x",
]
MIN_PROBE_COSINE = 0.9999
MIN_INT8_COSINE = 0.97


def encoder_info(directory: Path) -> dict[str, object] | None:
    try:
        info = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return info if isinstance(info, dict) else None


def has_encoder(directory: Path, model: str) -> bool:
    """``directory`` holds an exported encoder of this model."""
    info = encoder_info(directory)
    return info is not None and info.get("model") == model


def worst_probe_cosine(candidate: Embedder, reference: Embedder) -> float:
    """The lowest cosine between two encoders' vectors of the probe sentences."""
    return float(np.min(np.sum(candidate.encode(PROBES) * reference.encode(PROBES), axis=1)))


class OnnxQueryEmbedder:
    """Embedder protocol over an exported encoder directory (``spin``: see ``inference_session``)."""

    def __init__(self, directory: Path, threads: int | None = None, spin: bool = False) -> None:
        from tokenizers import Tokenizer

        info = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        self.name = str(info["model"])
        self.precision = str(info.get("precision", "fp32"))
        self.dimension = int(info["dimension"])
        self.encoded = 0
        optimized = info.get("optimized")  # the graph as ONNX Runtime optimises it, saved beside the plain one
        graph = OPTIMIZED if optimized and (directory / OPTIMIZED).is_file() else "model.onnx"
        self.session = inference_session(directory / graph, threads, spin=spin, optimized=optimized if graph == OPTIMIZED else None)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(info["max_seq_length"]))

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Unit vectors of ``texts``, batched by token length (as sentence-transformers does) so that a
        batch pads its sentences to about their own length, not to the longest of the lot."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), MAX_BATCH):
            rows = order[start: start + MAX_BATCH]
            feeds = padded_feeds([encodings[i] for i in rows])
            vectors = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[rows] = vectors / np.where(norms == 0, 1.0, norms)
            if progress:
                progress(len(rows))
        self.encoded += len(texts)
        return out


def export(embedder: SentenceTransformerEmbedder, target: Path) -> bool:
    """Write the export of this model to ``target`` (atomically); False when the model cannot be exported
    faithfully (then sentence-transformers keeps embedding)."""
    import torch

    model = embedder.model
    staged = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
            return self.model(features)["sentence_embedding"]

    try:
        tokenizer = model.tokenizer
        tokenizer.backend_tokenizer.save(str(staged / "tokenizer.json"))
        sample = tokenizer(PROBES[:2], padding=True, return_tensors="pt")
        if "token_type_ids" not in sample:
            sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
        axes = {0: "batch", 1: "seq"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes; the probes below check the result
            torch.onnx.export(
                Wrapped().eval(), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(staged / "model.onnx"), input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "embedding": {0: "batch"}},
            )
        info: dict[str, object] = {"model": embedder.name, "dimension": embedder.dimension,
                                   "max_seq_length": int(model.max_seq_length or 512), "format": 1, "files": file_sizes(staged)}
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        worst = worst_probe_cosine(OnnxQueryEmbedder(staged), embedder)
        if worst < MIN_PROBE_COSINE:
            log.warning("exported encoder differs from the model (cosine %.5f); queries will use torch", worst)
            return False
        _save_optimized(staged, info, embedder)
    except (RuntimeError, ValueError, TypeError, OSError, ImportError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        log.warning("could not export the query encoder (%s); queries will use torch", reason)
        return False
    finally:
        if not (staged / "encoder.json").exists():
            shutil.rmtree(staged, ignore_errors=True)
    replace_dir(staged, target)
    return True


def _save_optimized(staged: Path, info: dict[str, object], reference: Embedder) -> None:
    """Save beside the plain graph (the source of the int8 variant) the graph as this onnxruntime optimises it
    on loading, so that a session skips that work (a faster cold ``ask``); kept only if its vectors match the
    model's as the plain graph's do."""
    optimized = save_optimized(staged / "model.onnx", staged / OPTIMIZED)
    names = (*EXPORTED_FILES, OPTIMIZED, weights_file(staged / OPTIMIZED).name)
    (staged / "encoder.json").write_text(json.dumps({**info, "optimized": optimized, "files": file_sizes(staged, names)},
                                                    indent=2), encoding="utf-8")
    if worst_probe_cosine(OnnxQueryEmbedder(staged), reference) < MIN_PROBE_COSINE:
        log.warning("the optimised encoder graph gives other vectors; keeping the plain one")
        (staged / OPTIMIZED).unlink()
        weights_file(staged / OPTIMIZED).unlink()
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")


def optimized_current(info: dict[str, object]) -> bool:
    """An export's card says it has the optimised graph with its weights in a file beside it."""
    files = info.get("files")
    return bool(info.get("optimized")) and isinstance(files, dict) and weights_file(Path(OPTIMIZED)).name in files


def optimize_export(directory: Path) -> None:
    """Add the optimised graph to an export made without one (an index's own export from before the model
    cache) or with its weights inside it, checked against the plain graph, which was checked against the
    model when it was exported."""
    info = encoder_info(directory)
    if info is None or optimized_current(info) or info.get("precision", "fp32") != "fp32":
        return
    info = {k: v for k, v in info.items() if k != "optimized"} | {"files": file_sizes(directory)}
    staged = directory.parent / f".tmp-{directory.name}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(directory, staged)
    try:
        (staged / OPTIMIZED).unlink(missing_ok=True)
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        _save_optimized(staged, info, OnnxQueryEmbedder(staged))
        replace_dir(staged, directory)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def quantize(source: Path, target: Path) -> bool:
    """Write to ``target`` the int8 variant of the fp32 encoder exported at ``source``: dynamic int8
    quantisation with one scale per output channel (per-tensor scales lost too much: mean cosine 0.96
    to the model, against 0.993 per channel on SQuAD sentences). False, with a warning, when it cannot
    be done."""
    staged = target.parent / f".tmp-{target.name}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    try:
        shutil.copy2(source / "tokenizer.json", staged / "tokenizer.json")
        quantize_int8(source / "model.onnx", staged / "model.onnx")
        info = json.loads((source / "encoder.json").read_text(encoding="utf-8"))
        info["precision"] = "int8"
        info["files"] = file_sizes(staged)
        info.pop("optimized", None)
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        worst = worst_probe_cosine(OnnxQueryEmbedder(staged), OnnxQueryEmbedder(source))
        if worst < MIN_INT8_COSINE:
            log.warning("int8 encoder too far from the model (cosine %.3f); building with the model itself", worst)
            shutil.rmtree(staged, ignore_errors=True)
            return False
    except (RuntimeError, ValueError, TypeError, OSError, ImportError, KeyError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        log.warning("could not quantise the encoder (%s); building with the model itself", reason)
        shutil.rmtree(staged, ignore_errors=True)
        return False
    replace_dir(staged, target)
    return True


