"""What a trained artifact records about itself (its card), and writing the shipped artifact with reference scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from citebot.index.embed.embedders import DEFAULT_MODEL
from citebot.index.search.rerank_net import network
from citebot.index.search.rerank_text import pair_tokenizer
from train.reranker.recipe import ALPHA, EPOCHS, RANK, SEED, TASKS


def card(frozen: int, task: str = "rank", span: float = 0.0, epochs: int = EPOCHS,
         options: dict | None = None) -> dict:  # type: ignore[type-arg]
    """What an export needs to know of an artifact (index/search/rerank.py), and how it was trained; fold
    models get it too. ``options``: the recipe options a run changed from their defaults (recipe_options());
    the standard recipe's card has none, as shipped."""
    info = {"format": 1, "task": task, "max_length": TASKS[task][1], "base_model": DEFAULT_MODEL, "scale": ALPHA / RANK,
            "rank": RANK, "frozen_layers": frozen, "span_loss": span, "epochs": epochs, "seed": SEED, "reference": []}
    return {**info, "options": options} if options else info
NOT_RECIPE = ("runs", "work", "out", "task", "epochs", "frozen", "span")  # where it goes, or a card field of its own


def recipe_options(args: argparse.Namespace, ap: argparse.ArgumentParser) -> dict:  # type: ignore[type-arg]
    """The options of ``args`` that differ from the parser's defaults, other than NOT_RECIPE (the card
    records them: an artifact trained with --hard or on a share of the data must not read like the standard
    recipe; an option added later is recorded without being listed here)."""
    return {k: v for k, v in vars(args).items() if k not in NOT_RECIPE and v != ap.get_default(k)}
REFERENCE = [
    ("Who co-chaired the session?", "The session was co-chaired by Kristjan Tamm and Ingrid Solheim, the two energy ministers."),
    ("Who co-chaired the session?", "The talks covered subsea cables and offshore wind."),
    ("How many delegates attended?", "Around 60 delegates from both countries attended the meeting in Tallinn."),
    ("What is the capital of Australia?", "Dockworkers accepted a 4.5 per cent pay rise after a two-week strike."),
    ("When will the seabed survey be completed?", "Port talks | The seabed survey is due to be completed by the end of 2027."),
]


def save(artifact: dict[str, np.ndarray], base: str, out: Path, n_pairs: int, n_questions: int, frozen: int,
         span: float, epochs: int, task: str = "rank", options: dict | None = None) -> None:  # type: ignore[type-arg]
    """The shipped artifact and its card (reranker or answerability, by ``task``): reference scores the
    tests reproduce after export. The span head is a training aid and is left out."""
    stem, max_length = TASKS[task]
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / f"{stem}.npz", **{k: v for k, v in artifact.items() if not k.startswith("span.")})
    with np.load(out / f"{stem}.npz") as data:
        loaded = {k: data[k] for k in data.files}
    net = network(base, loaded, ALPHA / RANK)
    tokenizer = pair_tokenizer(str(Path(base) / "tokenizer.json"), max_length)
    encoded = tokenizer.encode_batch([(q, t) for q, t in REFERENCE])
    with torch.no_grad():
        logits = []
        for e in encoded:
            ids = torch.tensor([e.ids])
            logits.append(float(net(ids, torch.ones_like(ids), torch.tensor([e.type_ids]))[0]))
    info = {
        **card(frozen, task, span, epochs, options), "pairs": n_pairs, "questions": n_questions,
        "trained_on": "SQuAD v1.1 dev (24 articles), SQuAD v2.0 dev (6 articles), SQuAD v2.0 train (10 articles), "
                      "SQuAD is CC BY-SA 4.0",
        "reference": [{"question": q, "passage": t, "logit": round(s, 4)} for (q, t), s in zip(REFERENCE, logits, strict=True)],
    }
    (out / f"{stem}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / f'{stem}.npz'} ({(out / f'{stem}.npz').stat().st_size / 1e6:.2f} MB) and {stem}.json", flush=True)
