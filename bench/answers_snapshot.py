"""What citebot answers, recorded, and compared with an earlier record: the check that a change
of structure (or of speed) changed no answer.

    .venv/bin/python -m bench.answers_snapshot --out /tmp/before.jsonl [--squad 300]
    .venv/bin/python -m bench.answers_snapshot --out /tmp/after.jsonl --compare /tmp/before.jsonl

Builds three indexes with the real model and the built-in reranker, through the command line
(`citebot index build`, then `citebot ask --json --top-k 10 --batch -`): the project's samples
(their questions in tests/qa_samples.json and bench/newsroom_questions.json), ../shared/seeds
(the newsroom seed questions) and the SQuAD half ../shared/eval/squad-v1.1-dev-a.json (its first
N questions). Writes one JSON line per question: the top 10 answers (text, cited article ids and
character spans), the confidence, abstained, the signals. With --compare it prints, per corpus,
how many questions differ in their top 10, in abstention, and the largest confidence change.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CITEBOT_SHARED", ROOT.parent / "shared"))  # ../shared, or where CITEBOT_SHARED says
CITEBOT = [sys.executable, "-m", "citebot.bot.cli"]


def questions_of(name: str, squad: int) -> list[str]:
    if name == "squad":
        data = json.loads((SHARED / "eval" / "squad-v1.1-dev-a.json").read_text(encoding="utf-8"))
        found = [qa["question"] for doc in data["data"] for p in doc["paragraphs"] for qa in p["qas"]]
        return found[:squad]
    newsroom = json.loads((ROOT / "bench" / "newsroom_questions.json").read_text(encoding="utf-8"))
    found = [q["q"] for q in newsroom[name]]
    if name == "samples":
        samples = json.loads((ROOT / "tests" / "qa_samples.json").read_text(encoding="utf-8"))
        found += [q if isinstance(q, str) else q["q"] for group in samples.values() if isinstance(group, list) for q in group]
    return list(dict.fromkeys(found))


def sources_of(name: str, work: Path) -> list[str]:
    if name == "samples":
        return [str(ROOT / "examples" / "articles")]
    if name == "seeds":
        return [str(SHARED / "seeds")]
    folder = work / "squad-articles"  # one JSONL file of the SQuAD paragraphs, as citebot ingests them
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads((SHARED / "eval" / "squad-v1.1-dev-a.json").read_text(encoding="utf-8"))
    with open(folder / "squad.jsonl", "w", encoding="utf-8") as out:
        for doc in data["data"]:
            for n, p in enumerate(doc["paragraphs"]):
                out.write(json.dumps({"id": f"{doc['title']}/{n}", "title": doc["title"], "text": p["context"]}) + "\n")
    return [str(folder)]


def record(name: str, work: Path, squad: int) -> list[dict[str, object]]:
    env = dict(os.environ, CITEBOT_INDEX_DIR=str(work / f"ix-{name}"), PYTHONPATH=str(ROOT))
    env.pop("CITEBOT_RERANKER", None)
    env.pop("CITEBOT_STORE", None)
    subprocess.run([*CITEBOT, "index", "build", *sources_of(name, work)], env=env, check=True,
                   capture_output=True, text=True)
    questions = questions_of(name, squad)
    asked = subprocess.run([*CITEBOT, "ask", "--json", "--top-k", "10", "--batch", "-"], env=env, check=False,
                           input="\n".join(questions) + "\n", capture_output=True, text=True)
    rows = []
    for line in asked.stdout.splitlines():
        result = json.loads(line)
        answers = [{"text": a["text"], "cited": [[c["article_id"], c["char_start"], c["char_end"]] for c in a["citations"]]}
                   for a in result.get("answers", [])]
        rows.append({"corpus": name, "question": result["question"], "answers": answers,
                     "confidence": result.get("confidence"), "abstained": result.get("abstained"),
                     "signals": result.get("signals", {}), "error": result.get("error")})
    return rows


def compare(before: list[dict[str, object]], after: list[dict[str, object]]) -> None:
    old = {(r["corpus"], r["question"]): r for r in before}
    for name in dict.fromkeys(str(r["corpus"]) for r in after):
        rows = [r for r in after if r["corpus"] == name]
        pairs = [(old.get((name, r["question"])), r) for r in rows]
        missing = sum(1 for o, _ in pairs if o is None)
        pairs = [(o, r) for o, r in pairs if o is not None]
        top = sum(1 for o, r in pairs if o["answers"] != r["answers"])
        abstained = sum(1 for o, r in pairs if o["abstained"] != r["abstained"])
        delta = max((abs(float(o["confidence"] or 0) - float(r["confidence"] or 0)) for o, r in pairs), default=0.0)
        print(f"{name:>8}: {len(pairs)} questions compared ({missing} not in the earlier record): top 10 differs for "
              f"{top}, abstention differs for {abstained}, largest confidence change {delta:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="where to write the record (JSON lines)")
    ap.add_argument("--compare", type=Path, help="an earlier record to compare with")
    ap.add_argument("--squad", type=int, default=300, help="SQuAD questions asked")
    ap.add_argument("--corpora", default="samples,seeds,squad")
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.corpora.split(","):
            if name != "samples" and not SHARED.is_dir():
                print(f"{name}: skipped, ../shared is not present")
                continue
            rows += record(name, Path(tmp), args.squad)
            print(f"{name}: {sum(1 for r in rows if r['corpus'] == name)} questions recorded", flush=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    if args.compare:
        compare([json.loads(line) for line in args.compare.read_text(encoding="utf-8").splitlines()], rows)


if __name__ == "__main__":
    main()
