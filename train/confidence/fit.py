"""Fit one of citebot's confidence models on bench/eval_rerank.py's out-of-fold records and write it
into its card, index/models/confidence.json (read by bot/confidence.py at start-up).

    .venv/bin/python -m bench.eval_rerank --per-fold 600 --folds-dir DIR --answer-dir DIR --work /tmp/citebot-eval
    .venv/bin/python -m train.confidence.fit --records /tmp/citebot-eval/rerank-records.json --model answerable \\
        --fit-ontopic --features rerank_max,max_dense,names_missing_any,words_missing_any,type_missing,answerable,score_gap \\
        --hold value_conflict

The fit is the one bench/eval_rerank.py --fit prints (cross-fitted figures first, then both folds;
the bias set so that the card's threshold answers 97.5% of the answerable questions). Signals named
by --hold are not fitted: they keep the weight the card has for them.
Deterministic: the same records give the same card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.eval_rerank import FOLDS, conf_sets, fit_confidence, topic_set
from citebot.bot.confidence import CARD, default_threshold, model, write_model


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=Path, required=True, help="bench/eval_rerank.py's rerank-records.json (both folds)")
    ap.add_argument("--model", choices=("answerable", "reranked", "retrieval"), required=True)
    ap.add_argument("--features", required=True, help="comma-separated signals to fit")
    ap.add_argument("--hold", default="", help="comma-separated signals whose card weight is kept")
    ap.add_argument("--fit-ontopic", action="store_true", help="fit on the on-topic sets too")
    ap.add_argument("--card", type=Path, default=CARD)
    ap.add_argument("--dry-run", action="store_true", help="print the fit, do not write the card")
    args = ap.parse_args(argv)
    recs = json.loads(args.records.read_text(encoding="utf-8"))
    if any(fold not in recs for fold in FOLDS):
        print(f"{args.records}: records of both folds are needed ({', '.join(FOLDS)})", file=sys.stderr)
        return 2
    names = args.features.split(",")
    held = [h for h in args.hold.split(",") if h]
    current = model(args.model, args.card)
    fixed = {h: current.weights[h] for h in held}

    weights, bias = fit_confidence(names, lambda fold, wanted: conf_sets(recs, fold, wanted), default_threshold(),
                                   lambda fold, wanted: topic_set(recs, fold, wanted), args.fit_ontopic)
    weights.update(fixed)
    command = " ".join(["train/confidence/fit.py", *(argv if argv is not None else sys.argv[1:])])
    if args.dry_run:
        print(json.dumps({"weights": weights, "bias": bias}, indent=2))
        return 0
    write_model(args.model, weights, bias, held, command,
                f"out-of-fold records {args.records.name} of bench/eval_rerank.py ({sum(len(v) for f in FOLDS for v in recs[f].values())} "
                f"question records, folds {', '.join(FOLDS)})", args.card)
    print(f"wrote model {args.model!r} into {args.card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
