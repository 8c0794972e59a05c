"""The built-in reranker as a torch network: all-MiniLM-L6-v2 read as a cross-encoder.

Imported only to train the reranker (train/reranker/) and to export it to ONNX at index build
time (search/rerank.py); answering never imports torch. The network is the default model's own
BERT encoder over "[CLS] question [SEP] title | sentence [SEP]", mean-pooled, and one linear
head giving a logit: "this sentence answers the question". Training adds low-rank (LoRA) deltas
to the linear maps of the top layers; the shipped artifact holds only those deltas and the head.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

# The linear maps of a BERT layer that get LoRA deltas, by their name inside the layer.
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


def load_bert(base: str | Path) -> Any:
    """The base model's BERT encoder (eager attention: exports to ONNX without surprises)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in the middle of a command's output
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(base), attn_implementation="eager").eval()


def module(layer: nn.Module, name: str) -> nn.Linear:
    found = layer
    for part in name.split("."):
        found = getattr(found, part)
    assert isinstance(found, nn.Linear)
    return found


def merge(bert: nn.Module, weights: dict[str, np.ndarray], scale: float) -> None:
    """Add the trained deltas to the base weights in place: W += scale * B @ A."""
    with torch.no_grad():
        for key in weights:
            if not key.endswith(".lora_a"):
                continue
            stem = key[: -len(".lora_a")]
            layer_no, name = stem.split(".", 1)
            linear = module(cast(Any, bert).encoder.layer[int(layer_no)], name)
            a = torch.from_numpy(weights[key].astype(np.float32))
            b = torch.from_numpy(weights[stem + ".lora_b"].astype(np.float32))
            linear.weight += scale * (b @ a)


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class CrossEncoderNet(nn.Module):
    """input ids, mask, token types -> one logit per pair."""

    def __init__(self, bert: nn.Module, head_w: np.ndarray, head_b: float) -> None:
        super().__init__()
        self.bert = bert
        self.head = nn.Linear(head_w.shape[-1], 1)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(head_w.reshape(1, -1).astype(np.float32)))
            self.head.bias.fill_(float(head_b))

    def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        return self.head(pool(hidden, attention_mask)).squeeze(-1)


def network(base: str | Path, artifact: dict[str, np.ndarray], scale: float) -> CrossEncoderNet:
    """The trained cross-encoder: base weights with the artifact's deltas merged in, and its head."""
    bert = load_bert(base)
    merge(bert, artifact, scale)
    return CrossEncoderNet(bert, artifact["head.weight"], float(artifact["head.bias"].reshape(-1)[0])).eval()
