"""The network being trained: LoRA deltas on the top layers, cached lower layers, the span head and the losses."""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from citebot.index.search.rerank_net import TARGETS
from train.reranker.recipe import ALPHA, BATCH, RANK, SPAN_TOKENS, Pair


class LoRA(nn.Module):
    def __init__(self, base: nn.Linear, gen: torch.Generator) -> None:
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(RANK, base.in_features, generator=gen) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, RANK))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (ALPHA / RANK) * ((x @ self.a.T) @ self.b.T)


def attach(bert: nn.Module, gen: torch.Generator, frozen: int) -> dict[str, LoRA]:
    adapters = {}
    for n in range(frozen, len(bert.encoder.layer)):
        layer = bert.encoder.layer[n]
        for name in TARGETS:
            parent_name, _, leaf = name.rpartition(".")
            parent = layer
            for part in parent_name.split("."):
                parent = getattr(parent, part)
            wrapped = LoRA(getattr(parent, leaf), gen)
            setattr(parent, leaf, wrapped)
            adapters[f"{n}.{name}"] = wrapped
    return adapters


def cache_lower(bert: nn.Module, batches: list[dict], frozen: int) -> None:  # type: ignore[type-arg]
    """Run embeddings and the frozen layers once; keep their output (fp16) in each batch."""
    from transformers.masking_utils import create_bidirectional_mask

    t0 = time.perf_counter()
    with torch.no_grad():
        for n, b in enumerate(batches):
            h = bert.embeddings(input_ids=b["ids"], token_type_ids=b["types"])
            mask = create_bidirectional_mask(config=bert.config, inputs_embeds=h, attention_mask=b["mask"])
            for layer in bert.encoder.layer[:frozen]:
                h = layer(h, mask)
            b["hidden"] = h.to(torch.float16)
            if n % 200 == 0:
                print(f"  cached {n}/{len(batches)} batches ({time.perf_counter() - t0:.0f}s)", flush=True)


def top_layers(bert: nn.Module, hidden: torch.Tensor, attention_mask: torch.Tensor, frozen: int) -> torch.Tensor:
    """The trained layers over the cached lower ones: every token's last hidden state."""
    from transformers.masking_utils import create_bidirectional_mask

    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for layer in bert.encoder.layer[frozen:]:
        hidden = layer(hidden, mask)
    return hidden


def span_logits(span_head: nn.Module, hidden: torch.Tensor, types: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Start and end logits (batch, tokens, 2) where an answer may lie: the passage's tokens, and [CLS]
    for "no answer"; elsewhere a large negative."""
    positions = torch.arange(hidden.shape[1]).unsqueeze(0)
    last = (attention_mask.sum(1) - 1).unsqueeze(1)  # the closing [SEP]
    allowed = ((types > 0) & (attention_mask > 0) & (positions != last)) | (positions == 0)
    return span_head(hidden).masked_fill(~allowed.unsqueeze(-1), -1e4)


def span_score(logits: torch.Tensor) -> torch.Tensor:
    """The best answer span's start + end logit minus the no-answer ([CLS]) one, per pair (SQuAD 2.0's
    null-score difference); spans run forward and are at most SPAN_TOKENS long."""
    start, end = logits[..., 0], logits[..., 1]
    i = torch.arange(start.shape[1])
    gap = i.view(1, -1) - i.view(-1, 1)
    band = (gap >= 0) & (gap < SPAN_TOKENS) & (i.view(-1, 1) > 0)
    pair = (start.unsqueeze(2) + end.unsqueeze(1)).masked_fill(~band, -1e4)
    return pair.flatten(1).max(1).values - (start[:, 0] + end[:, 0])


def batches_of(pairs: list[Pair], tokenizer, by_question: bool = False) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Batches of about BATCH pairs of similar length; ``by_question`` keeps each question's pairs in
    one batch (the listwise loss compares them), packing whole questions sorted by their longest pair."""
    encoded = tokenizer.encode_batch([(p.question, p.text) for p in pairs])
    number = {qid: n for n, qid in enumerate(dict.fromkeys(p.qid for p in pairs))}
    if by_question:
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            groups.setdefault(p.qid, []).append(i)
        chunks, rows = [], []
        for g in sorted(groups.values(), key=lambda g: (max(len(encoded[i].ids) for i in g), g[0])):
            rows += g
            if len(rows) >= BATCH:
                chunks.append(rows)
                rows = []
        chunks += [rows] if rows else []
    else:
        order = sorted(range(len(pairs)), key=lambda i: (len(encoded[i].ids), i))
        chunks = [order[start: start + BATCH] for start in range(0, len(order), BATCH)]
    out = []
    for rows in chunks:
        width = max(len(encoded[i].ids) for i in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        start, end, span_weight = torch.zeros(len(rows), dtype=torch.long), torch.zeros(len(rows), dtype=torch.long), torch.ones(len(rows))
        for r, i in enumerate(rows):
            e = encoded[i]
            ids[r, : len(e.ids)] = torch.tensor(e.ids)
            types[r, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[r, : len(e.ids)] = 1
            if pairs[i].label:  # the answer's first and last token; no span target if it has none or was cut off
                span = pairs[i].span
                first = e.char_to_token(span[0], 1) if span else None
                last = e.char_to_token(span[1] - 1, 1) if span else None
                if first is None or last is None:
                    span_weight[r] = 0.0
                else:
                    start[r], end[r] = first, last
        out.append({"rows": rows, "ids": ids, "types": types, "mask": mask,
                    "label": torch.tensor([pairs[i].label for i in rows], dtype=torch.float32),
                    "weight": torch.tensor([pairs[i].weight for i in rows], dtype=torch.float32),
                    "start": start, "end": end, "span_weight": span_weight,
                    "question": torch.tensor([number[pairs[i].qid] for i in rows])})
    return out


def listwise(logits: torch.Tensor, labels: torch.Tensor, question: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
    """Per question, a softmax over its candidates and a learned "no answer" logit: -log P(an answer
    sentence), or -log P(no answer) for a question written to be unanswerable (SQuAD 2.0)."""
    losses = []
    for q in torch.unique(question):
        at = question == q
        s, y = logits[at], labels[at]
        total = torch.logsumexp(torch.cat([null.view(1), s]), 0)
        losses.append(total - (torch.logsumexp(s[y > 0], 0) if bool((y > 0).any()) else null))
    return torch.stack(losses).mean()
