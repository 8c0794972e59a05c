"""The per-user cache of model exports, shared by every index on the machine.

The query encoder (and its int8 variant), the built-in reranker and its answerability model are
exported to ONNX once per machine, not once per index, into ``CITEBOT_CACHE_DIR`` (default: the
platform's user cache directory, e.g. ``~/.cache/citebot`` on Linux). An export's directory is
named after what it is made from and the onnxruntime version that optimised it, so a new model,
artifact or onnxruntime gets its own export and never reads a stale one. Exports are written to a
staging directory and renamed into place: two processes exporting at once leave one whole copy.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ENCODER = "encoder"
ENCODER_INT8 = "encoder-int8"
RERANKER = "reranker"
LEGACY_DIRS = (ENCODER, ENCODER_INT8, RERANKER)  # where indexes kept their own exports before the cache


def default_cache_dir() -> Path:
    from platformdirs import user_cache_path

    return Path(user_cache_path("citebot", appauthor=False))


def runtime_version() -> str:
    """The installed onnxruntime's version (every export is made and read with it imported anyway)."""
    import onnxruntime

    return str(onnxruntime.__version__)


def model_key(model: str) -> str:
    """A directory name for a sentence-transformers model: its name, and a digest of where it resolves
    and of its files' sizes and times (a reinstalled or edited model directory is exported again)."""
    from citebot.index.embed.embedders import resolve_model

    location = Path(resolve_model(model))
    digest = hashlib.sha256(f"{model}\0{location}".encode())
    if location.is_dir():
        for path in sorted(p for p in location.iterdir() if p.is_file()):
            stat = path.stat()
            digest.update(f"\0{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model.rsplit("/", 1)[-1]).strip("-.")[:60] or "model"
    return f"{slug}-{digest.hexdigest()[:12]}-ort{runtime_version()}"


def encoder_dir(cache: Path, model: str, int8: bool = False) -> Path:
    return cache / (ENCODER_INT8 if int8 else ENCODER) / model_key(model)


def reranker_dir(cache: Path, artifact_id: str) -> Path:
    return cache / RERANKER / f"{artifact_id}-ort{runtime_version()}"


def legacy_exports(index_dir: Path) -> list[Path]:
    """The export directories an index made inside itself before the cache (moved out on first use)."""
    return [index_dir / name for name in LEGACY_DIRS if (index_dir / name).is_dir()]


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
