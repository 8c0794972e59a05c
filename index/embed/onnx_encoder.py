"""A query encoder that needs neither torch nor sentence-transformers: ONNX Runtime + tokenizers.

At build time the index exports its sentence-transformers model (transformer, pooling and
normalisation together) to ``INDEX_DIR/encoder/`` and checks that the exported model gives the
same vectors. ``citebot ask`` then starts in well under a second instead of ~10 s spent importing
torch. The sentence-transformers path stays the reference (CITEBOT_QUERY_ENCODER=torch) and the
tests compare the two.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from citebot.index.embed.embedders import FAKE_PREFIX, Embedder, LazyEmbedder, Progress, SentenceTransformerEmbedder, make_embedder

log = logging.getLogger("citebot.encoder")
ENCODER_DIR = "encoder"
INT8_DIR = "encoder-int8"  # the same encoder with int8 weights, for faster builds (CITEBOT_BUILD_ENCODER=int8)
MAX_BATCH = 64
PROBES = [
    "Who co-chaired the session?",
    "The 11th Session of the India-Russia Working Group on Modernisation and Industrial Cooperation was held here.",
    "Bilateral trade grew from $1.4 billion in 1995 to $68.7 billion in 2024-25.",
    "x",
]
MIN_PROBE_COSINE = 0.9999
MIN_INT8_COSINE = 0.97


def encoder_info(index_dir: Path, name: str = ENCODER_DIR) -> dict[str, object] | None:
    try:
        return json.loads((index_dir / name / "encoder.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def has_encoder(index_dir: Path, model: str, name: str = ENCODER_DIR) -> bool:
    """The index carries an exported encoder (``name``: fp32 or int8) of this model."""
    info = encoder_info(index_dir, name)
    return info is not None and info.get("model") == model


EXPORTED_FILES = ("model.onnx", "tokenizer.json")


def file_sizes(directory: Path, names: tuple[str, ...] = EXPORTED_FILES) -> dict[str, int]:
    """What an export records about its files, to notice later that one was truncated or removed."""
    return {name: (directory / name).stat().st_size for name in names}


def export_problem(directory: Path, card: str, names: tuple[str, ...] = EXPORTED_FILES) -> str | None:
    """Why an exported model directory (an encoder, a reranker) cannot be used, or None when it looks whole:
    its card unreadable, a file missing, or a file whose size is not the one recorded at export."""
    try:
        info = json.loads((directory / card).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{directory / card} is missing"
    except (OSError, ValueError) as exc:
        return f"{directory / card} is unreadable ({(str(exc).splitlines() or ['?'])[0][:100]})"
    if not isinstance(info, dict):
        return f"{directory / card} is unreadable"
    recorded = info.get("files") or {}
    for name in names:
        path = directory / name
        if not path.is_file():
            return f"{path} is missing"
        if name in recorded and path.stat().st_size != recorded[name]:
            return f"{path} is damaged ({path.stat().st_size} bytes, {recorded[name]} when exported)"
    return None


def _worst_probe_cosine(candidate: Embedder, reference: Embedder) -> float:
    """The lowest cosine between two encoders' vectors of the probe sentences."""
    return float(np.min(np.sum(candidate.encode(PROBES) * reference.encode(PROBES), axis=1)))


def padded_feeds(encodings) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """ONNX inputs for a batch of `tokenizers` encodings, zero-padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    feeds = {name: np.zeros((len(encodings), width), np.int64) for name in ("input_ids", "attention_mask", "token_type_ids")}
    for row, e in enumerate(encodings):
        feeds["input_ids"][row, : len(e.ids)] = e.ids
        feeds["attention_mask"][row, : len(e.ids)] = e.attention_mask
        feeds["token_type_ids"][row, : len(e.ids)] = e.type_ids
    return feeds


def default_threads() -> int:
    """Threads an ONNX session (or the reranker's pairs side by side) uses unless told: the cores, at most 4."""
    return min(4, os.cpu_count() or 1)


def inference_session(path: Path, threads: int | None = None, *, spin: bool = False, optimized: str | None = None):  # type: ignore[no-untyped-def]
    """An ONNX Runtime CPU session for one exported model.

    ``spin``: whether the session's threads busy-wait for work after each run (ONNX Runtime's default).
    That suits one session fed batch after batch (building). Answering runs three sessions in turn (query
    encoder, reranker, answerability model); spinning threads of one then take the cores from the next,
    which cost 50 ms a question on 2 cores (bench/query_latency.py), so query-time sessions do not spin.
    ``optimized``: the onnxruntime version that saved the graph already optimised (see ``save_optimized``);
    the same version loads it without optimising it again (faster start), another one re-optimises it.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    if optimized == ort.__version__:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def save_optimized(source: Path, target: Path) -> str:
    """Write ``source``'s graph as ONNX Runtime optimises it on loading (fused attention, layer norms,
    int8 matrix products; the "extended" level, which runs on any CPU) to ``target``, so that loading
    skips that work; returns the onnxruntime version, to record beside it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return str(ort.__version__)


class OnnxQueryEmbedder:
    """Embedder protocol over an exported encoder directory (``spin``: see ``inference_session``)."""

    def __init__(self, directory: Path, threads: int | None = None, spin: bool = False) -> None:
        from tokenizers import Tokenizer

        info = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        self.name = str(info["model"])
        self.precision = str(info.get("precision", "fp32"))
        self.dimension = int(info["dimension"])
        self.encoded = 0
        self.session = inference_session(directory / "model.onnx", threads, spin=spin)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(int(info["max_seq_length"]))

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), MAX_BATCH):
            batch = self.tokenizer.encode_batch(texts[start: start + MAX_BATCH])
            feeds = padded_feeds(batch)
            vectors = self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            out[start: start + len(batch)] = vectors / np.where(norms == 0, 1.0, norms)
            if progress:
                progress(len(batch))
        self.encoded += len(texts)
        return out


def export(embedder: SentenceTransformerEmbedder, index_dir: Path) -> bool:
    """Write INDEX_DIR/encoder for this model (atomically); False when the model cannot be exported
    faithfully (then queries keep using sentence-transformers)."""
    import torch

    model = embedder.model
    target = index_dir / ENCODER_DIR
    staged = index_dir / f".tmp-{ENCODER_DIR}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
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
        info = {"model": embedder.name, "dimension": embedder.dimension,
                "max_seq_length": int(model.max_seq_length or 512), "format": 1, "files": file_sizes(staged)}
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        worst = _worst_probe_cosine(OnnxQueryEmbedder(staged), embedder)
        if worst < MIN_PROBE_COSINE:
            log.warning("exported encoder differs from the model (cosine %.5f); queries will use torch", worst)
            return False
    except (RuntimeError, ValueError, TypeError, OSError, ImportError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        log.warning("could not export the query encoder (%s); queries will use torch", reason)
        return False
    finally:
        if not (staged / "encoder.json").exists():
            shutil.rmtree(staged, ignore_errors=True)
    _replace_dir(staged, target)
    return True


def _replace_dir(staged: Path, target: Path) -> None:
    old = target.parent / f".old-{target.name}-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)


def quantize_int8(source: Path, target: Path, **options: object) -> None:
    """Dynamic int8 quantisation of an ONNX graph, one weight scale per output channel; ``options`` go to
    onnxruntime's quantize_dynamic (bench/rerank_precision.py: nodes_to_exclude, extra_options)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs advice to pre-process the graph on the root logger
    try:
        quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8, **options)  # type: ignore[arg-type]
    finally:
        root.setLevel(level)


def quantize(index_dir: Path) -> bool:
    """Write INDEX_DIR/encoder-int8 from the exported fp32 encoder: dynamic int8 quantisation with one
    scale per output channel (per-tensor scales lost too much: mean cosine 0.96 to the model, against
    0.993 per channel on SQuAD sentences). False, with a warning, when it cannot be done."""
    source = index_dir / ENCODER_DIR
    staged = index_dir / f".tmp-{INT8_DIR}-{os.getpid()}"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    try:
        shutil.copy2(source / "tokenizer.json", staged / "tokenizer.json")
        quantize_int8(source / "model.onnx", staged / "model.onnx")
        info = json.loads((source / "encoder.json").read_text(encoding="utf-8"))
        info["precision"] = "int8"
        info["files"] = file_sizes(staged)
        (staged / "encoder.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        worst = _worst_probe_cosine(OnnxQueryEmbedder(staged), OnnxQueryEmbedder(source))
        if worst < MIN_INT8_COSINE:
            log.warning("int8 encoder too far from the model (cosine %.3f); building with the model itself", worst)
            shutil.rmtree(staged, ignore_errors=True)
            return False
    except (RuntimeError, ValueError, TypeError, OSError, ImportError, KeyError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        log.warning("could not quantise the encoder (%s); building with the model itself", reason)
        shutil.rmtree(staged, ignore_errors=True)
        return False
    _replace_dir(staged, index_dir / INT8_DIR)
    return True


def document_embedder(model: str, index_dir: Path, encoder: str = "auto") -> Embedder:
    """The embedder that writes sentence vectors: the model itself ("torch"), or its int8 ONNX
    export ("int8": about 1.7x faster on CPU; see bench/int8_build.py). "auto" follows the index:
    int8 when it has an int8 encoder for this model (it was built or extended with int8), else
    torch. Once an index has its int8 encoder, writing with it imports neither torch nor
    sentence-transformers."""
    if model.startswith(FAKE_PREFIX):
        return make_embedder(model)
    has_int8 = has_encoder(index_dir, model, INT8_DIR)
    if (index_dir / INT8_DIR).exists() and (problem := export_problem(index_dir / INT8_DIR, "encoder.json")):
        log.warning("the int8 build encoder is damaged: %s; %s", problem,
                    "quantising it again" if encoder == "int8" else "building with the model itself")
        has_int8 = False
    if encoder == "torch" or (encoder == "auto" and not has_int8):
        return make_embedder(model)
    if has_int8:
        return OnnxQueryEmbedder(index_dir / INT8_DIR, spin=True)
    reference = make_embedder(model)
    index_dir.mkdir(parents=True, exist_ok=True)
    if not has_encoder(index_dir, model):
        if not isinstance(reference, SentenceTransformerEmbedder) or not export(reference, index_dir):
            return reference
    return OnnxQueryEmbedder(index_dir / INT8_DIR, spin=True) if quantize(index_dir) else reference


def ensure_encoder(embedder: Embedder, index_dir: Path, notify: Callable[[str], None] | None = None) -> None:
    """Export the query encoder once per index and model (no-op for other embedders)."""
    if has_encoder(index_dir, embedder.name) and export_problem(index_dir / ENCODER_DIR, "encoder.json") is None:
        return
    if isinstance(embedder, LazyEmbedder):
        if embedder.name.startswith(FAKE_PREFIX):
            return
        embedder = embedder.loaded  # an index from before encoders were exported: load the model once
    if isinstance(embedder, SentenceTransformerEmbedder):
        if notify:
            notify("exporting the query encoder for fast answers (once per index)")
        export(embedder, index_dir)


def query_embedder(model: str, index_dir: Path, prefer: str = "auto") -> Embedder:
    """The fast ONNX encoder when the index carries one for this model, else the model itself. A
    damaged encoder is never used: it is exported again from the model (it is derived from it), with
    one warning line; if that fails, the model itself answers, with another."""
    directory = index_dir / ENCODER_DIR
    if prefer == "torch" or model.startswith(FAKE_PREFIX) or not directory.exists():
        return make_embedder(model)
    problem = export_problem(directory, "encoder.json")
    if problem is None and has_encoder(index_dir, model):
        return OnnxQueryEmbedder(directory)
    if problem is None:
        return make_embedder(model)  # an encoder of another model: the index's model check speaks for it
    log.warning("the query encoder is damaged: %s; exporting it again from the model (once, about 10 s)", problem)
    reference = make_embedder(model)
    if isinstance(reference, SentenceTransformerEmbedder) and export(reference, index_dir):
        return OnnxQueryEmbedder(directory)
    log.warning("could not export the query encoder again; answering with the model itself (slower start)")
    return reference
