"""One training run (a fold or the shipped model) and its held-out checks."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.eval_squad import auroc
from citebot.index.search.rerank_net import load_bert, pool
from train.reranker.card import card
from train.reranker.data import kept
from train.reranker.model import attach, listwise, span_logits, span_score, top_layers
from train.reranker.recipe import SEED, TASKS, Pair


def train_run(name: str, base: str, batches: list[dict], pairs: list[Pair], held_out: set[str],  # type: ignore[type-arg]
              epochs: int, frozen: int, work: Path, list_weight: float = 0.0, task: str = "rank",
              span_weight: float = 0.0, impossible_share: float = 1.0,
              options: dict | None = None) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    bert = load_bert(base)
    for p in bert.parameters():
        p.requires_grad_(False)
    adapters = attach(bert, gen, frozen)
    head = nn.Linear(bert.config.hidden_size, 1)
    with torch.no_grad():
        head.weight.normal_(0.0, 0.02, generator=gen)
        head.bias.zero_()
    null = nn.Parameter(torch.zeros(()))  # the listwise loss's "no answer" logit (not shipped)
    span_head = nn.Linear(bert.config.hidden_size, 2) if span_weight else None
    if span_head is not None:
        with torch.no_grad():
            span_head.weight.normal_(0.0, 0.02, generator=gen)
            span_head.bias.zero_()
    params = [p for a in adapters.values() for p in (a.a, a.b)]
    heads = [*head.parameters(), null, *(span_head.parameters() if span_head is not None else [])]
    opt = torch.optim.AdamW([{"params": params, "lr": 5e-4}, {"params": heads, "lr": 2e-3}], weight_decay=0.01)
    train_idx = []
    for bi, b in enumerate(batches):
        keep = [r for r, i in enumerate(b["rows"]) if pairs[i].group not in held_out and pairs[i].source not in held_out
                and (not pairs[i].impossible or kept(pairs[i].qid, impossible_share))]
        if keep:
            train_idx.append((bi, torch.tensor(keep)))
    steps = epochs * len(train_idx)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.05 * steps)) * max(0.0, 1 - s / steps))
    rng = random.Random(SEED)
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    t0 = time.perf_counter()
    step = 0
    bert.train()
    for epoch in range(epochs):
        order = train_idx[:]
        rng.shuffle(order)
        running = 0.0
        for bi, keep in order:
            b = batches[bi]
            hidden = top_layers(bert, b["hidden"][keep].to(torch.float32), b["mask"][keep], frozen)
            logits = head(pool(hidden, b["mask"][keep])).squeeze(-1)
            loss = loss_fn(logits, b["label"][keep], weight=b["weight"][keep])
            if span_head is not None:
                spans = span_logits(span_head, hidden, b["types"][keep], b["mask"][keep])
                w = b["span_weight"][keep]
                ce = nn.functional.cross_entropy
                per = ce(spans[..., 0], b["start"][keep], reduction="none") + ce(spans[..., 1], b["end"][keep], reduction="none")
                loss = loss + span_weight * (per * w).sum() / w.sum().clamp(min=1.0) / 2
            if list_weight:
                loss = loss + list_weight * listwise(logits, b["label"][keep], b["question"][keep], null)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running = 0.98 * running + 0.02 * float(loss.detach()) if step > 1 else float(loss.detach())
            if step % 200 == 0:
                rate = step / (time.perf_counter() - t0)
                print(f"  [{name}] epoch {epoch + 1} step {step}/{steps} loss {running:.4f} ({rate:.1f} steps/s, "
                      f"about {(steps - step) / rate / 60:.0f} min to go)", flush=True)
    bert.eval()
    artifact: dict[str, np.ndarray] = {}
    for key, a in adapters.items():
        artifact[f"{key}.lora_a"] = a.a.detach().numpy().astype(np.float16)
        artifact[f"{key}.lora_b"] = a.b.detach().numpy().astype(np.float16)
    artifact["head.weight"] = head.weight.detach().numpy().reshape(-1).astype(np.float32)
    artifact["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    if span_head is not None and task == "answer":  # the reader's span score is tried as a signal (bench/eval_rerank.py)
        artifact["span.weight"] = span_head.weight.detach().numpy().astype(np.float32)
        artifact["span.bias"] = span_head.bias.detach().numpy().astype(np.float32)
    print(f"  [{name}] trained {step} steps in {time.perf_counter() - t0:.0f}s", flush=True)
    if held_out:
        scores, spans = held_out_scores(bert, head, batches, pairs, held_out, frozen, span_head)
        if task == "rank":
            evaluate(name, scores, pairs, held_out)
            if span_head is not None:
                evaluate(f"{name} span", spans, pairs, held_out)
                evaluate(f"{name} logit+span", scores + spans, pairs, held_out)
        else:
            evaluate_windows(name, scores, pairs, held_out)
            if span_head is not None:
                evaluate_windows(f"{name} span", spans, pairs, held_out)
                evaluate_windows(f"{name} logit+span", scores + spans, pairs, held_out)
    stem = TASKS[task][0]
    np.savez(work / f"{stem}-{name}.npz", **artifact)
    info = card(frozen, task, span_weight, epochs, options)
    (work / f"{stem}-{name}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return artifact


def held_out_scores(bert, head, batches, pairs, held_out, frozen: int, span_head=None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The trained model's logit and span score (without a span head: 0) of every pair of the held-out
    articles (NaN elsewhere)."""
    scores, spans = np.full(len(pairs), np.nan), np.full(len(pairs), np.nan)
    with torch.no_grad():
        for b in batches:
            keep = [r for r, i in enumerate(b["rows"]) if pairs[i].group in held_out]
            if keep:
                k = torch.tensor(keep)
                hidden = top_layers(bert, b["hidden"][k].to(torch.float32), b["mask"][k], frozen)
                logits = head(pool(hidden, b["mask"][k])).squeeze(-1).numpy()
                diff = (span_score(span_logits(span_head, hidden, b["types"][k], b["mask"][k])).numpy()
                        if span_head is not None else np.zeros(len(keep)))
                for r, s, d in zip(keep, logits, diff, strict=True):
                    scores[b["rows"][r]] = s
                    spans[b["rows"][r]] = d
    return scores, spans


def evaluate_windows(name: str, scores: np.ndarray, pairs: list[Pair], held_out: set[str]) -> None:
    """Answerability on the held-out articles: AUROC of the gold window against each kind of negative
    (impossible: only articles that have such questions, squad-v2.0-dev-c's)."""
    with_impossible = {p.group for p in pairs if p.impossible and p.group in held_out}
    for kind in ("impossible", "own-other", "elsewhere", "unrelated", "swap", "negation"):
        within = with_impossible if kind == "impossible" else held_out
        at = [i for i, p in enumerate(pairs) if p.group in within and p.kind in ("gold", kind)]
        y = np.asarray([pairs[i].label for i in at])
        auc = f"{auroc(scores[at], y):.3f}" if y.size and 0 < y.sum() < y.size else "n/a"
        print(f"  [{name}] held-out windows: AUROC gold vs {kind} {auc} ({int(y.sum())} gold, {int((1 - y).sum())} {kind})",
              flush=True)


def evaluate(name: str, scores: np.ndarray, pairs: list[Pair], held_out: set[str]) -> None:
    """Pair-level check on the held-out articles: top-1 among each question's pairs, answerability AUROC."""
    by_q: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        if p.group in held_out:
            by_q.setdefault(p.qid, []).append(i)
    # Answerability is compared within the articles that have written-to-be-unanswerable questions
    # (squad-v2.0-dev-c's): answerable questions of other articles would make it a topic test.
    with_impossible = {pairs[idx[0]].group for idx in by_q.values() if pairs[idx[0]].impossible}
    top1, answerable, best = [], [], []
    for idx in by_q.values():
        s = scores[idx]
        labels = [pairs[i].label for i in idx]
        if any(labels):
            top1.append(labels[int(np.argmax(s))])
        if pairs[idx[0]].group in with_impossible:
            answerable.append(0 if pairs[idx[0]].impossible else 1)
            best.append(float(np.max(s)))
    y, x = np.asarray(answerable), np.asarray(best)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    auc = f"{auroc(x, y):.3f}" if n1 and n0 else "n/a"
    print(f"  [{name}] held-out pairs: top-1 among each question's candidates {np.mean(top1):.3f} "
          f"({len(top1)} questions); best-score AUROC answerable vs impossible, same articles {auc} "
          f"({n1} answerable, {n0} impossible)", flush=True)
