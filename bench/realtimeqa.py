"""The weekly news quiz: real questions ("... this week ...") over dated articles of many outlets.

    .venv/bin/python -m bench.realtimeqa [--work /tmp/citebot-rtqa] [--reuse]

Data: ../shared/eval/realtimeqa-2023q4 (RealTime QA, 12 weeks of late 2023: 132 questions whose
correct choice occurs in the evidence and whose wrong choices do not, over 2,229 dated articles).
Builds an index of corpus.jsonl with the default model and reranker (reused with --reuse), then
asks every question with its quiz date as the reference date, twice: with the question's words read
for dates and outlets (as citebot answers by default), and literally (`--literal`: the words only
searched, as before time phrases were understood). Prints, for each, split by questions with and
without a relative time phrase: the correct choice in the top 3 answers, the top citation published
in the question's week (the seven days up to its quiz date), and abstentions. A dev set: nothing was
fitted on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("CITEBOT_SHARED", ROOT.parent / "shared")) / "eval" / "realtimeqa-2023q4"


def build(index_dir: Path, reuse: bool) -> None:
    if reuse and (index_dir / "CURRENT").is_file():
        return
    env = dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir), PYTHONPATH=str(ROOT))
    env.pop("CITEBOT_RERANKER", None)
    started = time.monotonic()
    built = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", str(DATA / "corpus.jsonl")], env=env)
    if built.returncode not in (0, 3):  # 3: built, with a few records skipped (the corpus repeats some texts)
        sys.exit(f"index build failed (exit {built.returncode})")
    print(f"index built in {time.monotonic() - started:.0f}s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-rtqa"))
    ap.add_argument("--reuse", action="store_true", help="reuse the index built by an earlier run")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is not present")
    index_dir = args.work / "ix"
    build(index_dir, args.reuse)
    from citebot.bot.ask_command import open_answerer
    from citebot.bot.config import Settings

    settings = replace(Settings.from_env(dict(os.environ, CITEBOT_INDEX_DIR=str(index_dir))), reranker="builtin")
    answerer = open_answerer(settings)
    items = json.loads((DATA / "questions.json").read_text(encoding="utf-8"))["items"]
    rows = []
    for literal in (True, False):
        for item in items:
            as_of = date.fromisoformat(item["question_date"])
            result = answerer.ask(item["question"], top_k=3, as_of=as_of, literal=literal)
            texts = " ".join(c.text for a in result.answers[:3] for c in a.citations).casefold()
            top = result.answers[0].citations[0].published if result.answers and result.answers[0].citations else None
            in_week = bool(top) and as_of - timedelta(days=6) <= date.fromisoformat(str(top)[:10]) <= as_of
            rows.append({"literal": literal, "relative": bool(item["relative"]), "correct": item["correct"].casefold() in texts,
                         "in_week": in_week, "abstained": result.abstained, "filtered": result.filters is not None})
    for literal in (True, False):
        print("literal (before time phrases were read):" if literal else "dates and outlets read from the question (default):")
        for relative in (True, False, None):
            part = [r for r in rows if r["literal"] == literal and (relative is None or r["relative"] == relative)]
            label = {True: "with a relative time phrase", False: "without one", None: "all"}[relative]
            n = len(part)
            print(f"  {label:>28} ({n}): correct choice in top 3 {sum(r['correct'] for r in part)}/{n}, top citation from the "
                  f"question's week {sum(r['in_week'] for r in part)}/{n}, abstained {sum(r['abstained'] for r in part)}/{n}, "
                  f"filtered {sum(r['filtered'] for r in part)}/{n}")


if __name__ == "__main__":
    main()
