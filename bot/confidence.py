"""The confidence that the articles answer a question, from the signals retrieval and reranking give.

Three logistic models, one per setting (the built-in reranker with its answerability model, a
reranker alone, retrieval alone), fitted offline by train/confidence/fit.py and read from their card,
index/models/confidence.json, once per process.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CARD = Path(__file__).resolve().parents[1] / "index" / "models" / "confidence.json"


@dataclass(frozen=True)
class ConfidenceModel:
    name: str
    weights: dict[str, float]
    bias: float

    def __call__(self, signals: dict[str, float]) -> float:
        z = self.bias + sum(w * signals.get(name, 0.0) for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@cache
def card(path: Path = CARD) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(card, dict) or card.get("format") != 1:
        raise ValueError(f"{path}: not a confidence card of format 1")
    return card


def model(name: str, path: Path = CARD) -> ConfidenceModel:
    """One of the card's models: "answerable", "reranked" or "retrieval"."""
    entry = card(path)["models"][name]
    return ConfidenceModel(name, {k: float(v) for k, v in entry["weights"].items()}, float(entry["bias"]))


def model_for(signals: dict[str, float]) -> ConfidenceModel:
    """The model the signals were computed for: with the answerability model, a reranker, or neither."""
    return model("answerable" if "answerable" in signals else "reranked" if "rerank_max" in signals else "retrieval")


def confidence(signals: dict[str, float]) -> float:
    return model_for(signals)(signals) if signals else 0.0


def default_threshold() -> float:
    return float(card()["threshold"])


def write_model(name: str, weights: dict[str, float], bias: float, held: list[str], fitted_by: str, data: str,
                path: Path = CARD) -> None:
    """Replace one model in the card (atomically), keeping the others and its provenance fields."""
    current = json.loads(path.read_text(encoding="utf-8"))
    entry = dict(current["models"].get(name, {}))
    entry.update(weights={k: float(f"{v:.4g}") for k, v in weights.items()}, bias=float(f"{bias:.4g}"), held=held,
                 fitted_by=fitted_by, data=data)
    current["models"][name] = entry
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    card.cache_clear()
