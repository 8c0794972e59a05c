"""Which embedder does the work: for writes, the model or its int8 export, loaded only when something
must be embedded; for questions, the exported ONNX encoder (no torch) or the model. Exports are made
here when an index needs them, and a damaged one is made again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from citebot.index.embed.embedders import FAKE_PREFIX, Embedder, LazyEmbedder, SentenceTransformerEmbedder, make_embedder
from citebot.index.embed.onnx_encoder import ENCODER_DIR, INT8_DIR, OnnxQueryEmbedder, export, has_encoder, quantize
from citebot.index.embed.onnx_runtime import export_problem

log = logging.getLogger("citebot.encoder")


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


def embedder_for_writes(name: str, workspace: Path, dimension: int | None, encoder: str = "auto",
                        notify: Callable[[str], None] | None = None) -> Embedder:
    """For adding to an index whose vectors have ``dimension`` (None: a first build): loaded only if
    something must be embedded. ``encoder``: "torch" (the model), "int8" (its quantised ONNX export in
    ``workspace``) or "auto" (int8 when ``workspace`` has an int8 encoder), see document_embedder."""
    def load() -> Embedder:
        if notify and not name.startswith(FAKE_PREFIX):
            notify(f"loading the model {name} to embed new sentences")
        return document_embedder(name, workspace, encoder)

    if dimension is None:
        return load()  # a first build embeds everything
    return LazyEmbedder(name, int(dimension), load)
