"""Which embedder does the work, and the exports it needs.

Sentences and questions are embedded by the model's ONNX export in the per-user model cache
(embed/model_cache.py): no torch, and about 1.5x a sentence-transformers encode when building. The
export is made from the model once per machine (that alone loads torch), and a damaged one is made
again. ``torch`` embeds with the model itself (the reference); ``int8`` builds with the export's
int8 variant (faster, slightly different vectors: bench/build_speed.py).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from citebot.index.embed.embedders import FAKE_PREFIX, Embedder, LazyEmbedder, SentenceTransformerEmbedder, make_embedder
from citebot.index.embed.model_cache import ENCODER, ENCODER_INT8, encoder_dir
from citebot.index.embed.onnx_encoder import OnnxQueryEmbedder, encoder_info, export, has_encoder, optimize_export, quantize
from citebot.index.embed.onnx_runtime import export_problem, replace_dir

log = logging.getLogger("citebot.encoder")
# A question is a dozen tokens: a second thread barely shortens its embedding, and takes CPU from the keyword
# searches that run while it is embedded (search/hybrid.py).
QUERY_THREADS = 1
Notify = Callable[[str], None]


def _usable(directory: Path, model: str, what: str) -> bool:
    """``directory`` holds a whole export of ``model``; a damaged one is reported (and made again by the caller)."""
    if not directory.exists():
        return False
    problem = export_problem(directory, "encoder.json")
    if problem is not None:
        log.warning("the %s is damaged: %s; exporting it again from the model", what, problem)
        return False
    return has_encoder(directory, model)


def onnx_encoder(model: str, cache: Path, *, int8: bool = False, notify: Notify | None = None) -> Path | None:
    """The directory of the model's export (``int8``: its quantised variant) in the cache, exported now
    when missing or damaged (loading the model with torch, once per machine); None when the model
    cannot be exported faithfully."""
    fp32 = encoder_dir(cache, model)
    if not _usable(fp32, model, "exported encoder"):
        if notify:
            notify(f"exporting the encoder of {model} to {cache} (once per machine; loads torch)")
        reference = make_embedder(model)
        if not isinstance(reference, SentenceTransformerEmbedder) or not export(reference, fp32):
            return None
    optimize_export(fp32)  # brings an older export's optimised graph to the current form; nothing when it is current
    if not int8:
        return fp32
    target = encoder_dir(cache, model, int8=True)
    if _usable(target, model, "int8 build encoder") or quantize(fp32, target):
        return target
    return None


def document_embedder(model: str, cache: Path, encoder: str = "auto", notify: Notify | None = None) -> Embedder:
    """The embedder that writes sentence vectors: the model's ONNX export ("auto"), its int8 variant
    ("int8"), or the model itself ("torch", and whenever the model cannot be exported)."""
    if model.startswith(FAKE_PREFIX) or encoder == "torch":
        return make_embedder(model)
    directory = onnx_encoder(model, cache, int8=encoder == "int8", notify=notify)
    if directory is None:
        return make_embedder(model)
    return OnnxQueryEmbedder(directory, spin=True)


def query_embedder(model: str, cache: Path, prefer: str = "auto", notify: Notify | None = None) -> Embedder:
    """The model's ONNX export (exported first if the cache lacks it), else the model itself. A damaged
    export is never used: it is made again, with one warning line; if that fails, the model answers."""
    if prefer == "torch" or model.startswith(FAKE_PREFIX):
        return make_embedder(model)
    directory = onnx_encoder(model, cache, notify=notify)
    if directory is None:
        log.warning("could not export the encoder of %s; embedding with the model itself (slower start)", model)
        return make_embedder(model)
    return OnnxQueryEmbedder(directory, threads=QUERY_THREADS)


def embedder_for_writes(name: str, cache: Path, dimension: int | None, encoder: str = "auto",
                        notify: Notify | None = None) -> Embedder:
    """For adding to an index whose vectors have ``dimension`` (None: a first build): loaded only if
    something must be embedded (see document_embedder)."""
    def load() -> Embedder:
        if notify and not name.startswith(FAKE_PREFIX):
            notify(f"loading the encoder of {name} to embed new sentences")
        return document_embedder(name, cache, encoder, notify)

    if dimension is None:
        return load()  # a first build embeds everything
    return LazyEmbedder(name, int(dimension), load)


def adopt_index_encoders(index_dir: Path, cache: Path) -> int:
    """Move the encoder exports an older index kept inside itself into the cache (when whole, and the
    cache lacks them), and remove them from the index; returns the bytes the index no longer holds."""
    freed = 0
    for name, int8 in ((ENCODER, False), (ENCODER_INT8, True)):
        legacy = index_dir / name
        if not legacy.is_dir():
            continue
        freed += sum(p.stat().st_size for p in legacy.rglob("*") if p.is_file())
        info = encoder_info(legacy)
        model = str(info.get("model")) if info else ""
        if model and not model.startswith(FAKE_PREFIX) and export_problem(legacy, "encoder.json") is None:
            target = encoder_dir(cache, model, int8=int8)
            if not has_encoder(target, model):
                staged = target.parent / f".tmp-{target.name}-{os.getpid()}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(legacy, staged, dirs_exist_ok=True)
                replace_dir(staged, target)
                if not int8:
                    optimize_export(target)
        shutil.rmtree(legacy, ignore_errors=True)
    return freed
