"""Evolving stories: figures that are revised and offices that change hands, reported by several
outlets on different days. Written for citebot before any tuning of its timelines.

    .venv/bin/python -m bench.stories [--model fake:hash-256]

20 stories, 3-4 dated reports each (68 articles; on three days two outlets report different values,
and on three others one outlet revises its figure the same day). For each story one question asks for the latest value, as of the day after its last
report. Prints: the latest value in the first answer (latest-value accuracy), the share of the
story's reported values that the timeline shows (timeline completeness), stories with a conflict
flagged where two outlets of one day disagree, and conflicts flagged where none is (false flags).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITEBOT = [sys.executable, "-m", "citebot.bot.cli"]


@dataclass(frozen=True)
class Story:
    key: str
    question: str
    template: str  # the report's sentence, with {v} for the value
    values: tuple[str, ...]  # in the order reported
    outlets: tuple[str, ...]  # one per report
    start: date
    gaps: tuple[int, ...]  # days between reports
    context: str  # a second sentence, the same in every report
    disagree: tuple[str, str] | None = None  # (outlet, its value) reporting the same day as the last report


W = ("Reuters", "Associated Press", "Agence France-Presse", "Press Trust of India", "Baltic News Service", "Nordic Wire")
STORIES = [
    Story("flood", "What is the latest death toll from the floods in Varnholm?", "The death toll from the floods in Varnholm rose to {v}, the civil defence agency said.",
          ("14", "27", "41", "58"), (W[0], W[1], W[0], W[2]), date(2025, 3, 2), (1, 1, 2), "Rescue teams were still searching villages along the river."),
    Story("quake", "How many people have died in the Keltavik earthquake so far?", "At least {v} people have died in the Keltavik earthquake, officials said.",
          ("120", "310", "560"), (W[1], W[2], W[1]), date(2025, 4, 10), (1, 1), "Aftershocks continued to shake the coastal region.",
          disagree=(W[0], "540")),
    Story("inflation", "What is the latest inflation rate in Nordmark?", "Annual inflation in Nordmark was {v} per cent, the statistics office said.",
          ("4.1", "3.8", "3.5", "3.2"), (W[5], W[5], W[0], W[5]), date(2025, 1, 15), (30, 31, 28), "Food prices rose faster than the average."),
    Story("rate", "What is the central bank's current key interest rate in Nordmark?", "The Nordmark central bank set its key interest rate at {v} per cent.",
          ("4.5", "4.25", "4.0"), (W[0], W[5], W[0]), date(2025, 2, 6), (42, 49), "The bank said it would watch wage growth closely."),
    Story("strike", "How many dockworkers are on strike at the port of Aalstad now?", "Some {v} dockworkers were on strike at the port of Aalstad, the union said.",
          ("800", "1,200", "2,000"), (W[4], W[4], W[5]), date(2025, 5, 3), (2, 3), "Ships were queuing outside the harbour."),
    Story("fire", "How many hectares has the Tarnwood forest fire burned so far?", "The Tarnwood forest fire has burned {v} hectares, firefighters said.",
          ("300", "1,100", "2,400", "3,050"), (W[2], W[0], W[2], W[1]), date(2025, 7, 18), (1, 1, 1), "Strong winds kept fanning the flames.",
          disagree=(W[0], "2,900")),
    Story("unemployment", "What is the latest unemployment rate in Estria?", "Unemployment in Estria stood at {v} per cent, the labour ministry said.",
          ("7.2", "7.0", "6.8"), (W[4], W[4], W[4]), date(2025, 2, 28), (31, 30), "Youth unemployment remained above 15 per cent."),
    Story("evacuated", "How many residents have been evacuated from Lower Brenn?", "Authorities have evacuated {v} residents from Lower Brenn, the mayor said.",
          ("2,000", "5,500", "9,000"), (W[1], W[2], W[1]), date(2025, 9, 9), (1, 1), "Shelters were opened in schools and sports halls."),
    Story("outbreak", "How many cases of measles have been confirmed in Dalmora so far?", "Health officials have confirmed {v} cases of measles in Dalmora.",
          ("35", "62", "88", "131"), (W[3], W[3], W[0], W[3]), date(2025, 3, 20), (4, 3, 5), "Vaccination clinics extended their opening hours."),
    Story("budget", "How much is the latest estimate for the Ostbridge tunnel?", "The Ostbridge tunnel is now expected to cost {v} million euros, the transport ministry said.",
          ("850", "990", "1,240"), (W[5], W[5], W[4]), date(2025, 1, 8), (90, 120), "Construction is due to start next year."),
    Story("turnout", "What was the final turnout in the Vesterlund referendum?", "Turnout in the Vesterlund referendum reached {v} per cent, the electoral commission said.",
          ("38", "52", "61"), (W[0], W[0], W[1]), date(2025, 6, 1), (0, 1), "Polling stations stayed open until 10 pm.",
          disagree=(W[2], "63")),
    Story("storm", "How many homes are still without power after Storm Ilse?", "Some {v} homes were without power after Storm Ilse, the grid operator said.",
          ("120,000", "64,000", "18,000"), (W[4], W[5], W[4]), date(2025, 11, 2), (1, 1), "Crews worked through the night to restore lines."),
    Story("growth", "What is the latest growth forecast for Nordmark?", "The finance ministry expects Nordmark's economy to grow {v} per cent this year.",
          ("1.9", "1.6", "1.2"), (W[0], W[5], W[0]), date(2025, 3, 30), (90, 60), "Exports were hit by weaker demand in Asia."),
    Story("ceo", "Who is the current chief executive of Harbour Lines?", "{v} is the chief executive of Harbour Lines, the company said.",
          ("Anna Berg", "Lars Holm", "Maria Lind"), (W[5], W[5], W[0]), date(2025, 1, 20), (120, 90), "The ferry operator carries four million passengers a year."),
    Story("minister", "Who is the current finance minister of Estria?", "{v} was named finance minister of Estria, the prime minister's office said.",
          ("Tomas Kask", "Liis Saar", "Peeter Mets"), (W[4], W[4], W[4]), date(2025, 2, 1), (150, 100), "The ministry oversees the state budget."),
    Story("coach", "Who is the head coach of the national football team now?", "{v} was appointed head coach of Nordmark's national football team.",
          ("Jens Dahl", "Erik Moe", "Sven Aas"), (W[5], W[1], W[5]), date(2025, 1, 5), (200, 60), "The team plays its next qualifier in March."),
    Story("missing", "How many people are still missing after the Kjelvik landslide?", "{v} people were still missing after the Kjelvik landslide, police said.",
          ("40", "23", "9"), (W[0], W[2], W[0]), date(2025, 10, 12), (1, 2), "Rescuers used dogs and drones in the search."),
    Story("price", "What is the latest price of Nordmark's benchmark electricity?", "Wholesale electricity in Nordmark cost {v} euros per megawatt hour, the exchange said.",
          ("92", "118", "101", "87"), (W[5], W[5], W[0], W[5]), date(2025, 12, 1), (7, 7, 7), "Cold weather raised demand for heating."),
    Story("injured", "How many people were injured in the Strandvik train derailment?", "{v} people were injured in the Strandvik train derailment, the railway said.",
          ("12", "19", "23"), (W[2], W[2], W[1]), date(2025, 8, 14), (0, 1), "The line will stay closed for a week."),
    Story("seats", "How many seats did the Green Alliance win in the Vesterlund election?", "The Green Alliance won {v} seats in the Vesterlund election, according to the count.",
          ("18", "21", "22"), (W[1], W[1], W[0]), date(2025, 9, 21), (0, 1), "Counting continued overnight in the capital."),
]


def articles() -> list[dict[str, str]]:
    out = []
    for s in STORIES:
        day = s.start
        for n, (value, outlet) in enumerate(zip(s.values, s.outlets, strict=True)):
            if n:
                day += timedelta(days=s.gaps[n - 1])
            out.append({"id": f"{s.key}-{n}", "source": outlet, "published": day.isoformat(), "title": f"{outlet}: {s.key} update",
                        "text": s.template.format(v=value) + " " + s.context})
        if s.disagree:
            outlet, value = s.disagree
            out.append({"id": f"{s.key}-x", "source": outlet, "published": day.isoformat(), "title": f"{outlet}: {s.key} update",
                        "text": s.template.format(v=value) + " " + s.context})
    return out


def last_day(s: Story) -> date:
    return s.start + timedelta(days=sum(s.gaps))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="CITEBOT_MODEL for the index (default: the default model)")
    ap.add_argument("--verbose", action="store_true", help="print each story's first answer and timeline")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "stories.jsonl"
        data.write_text("".join(json.dumps(a) + "\n" for a in articles()), encoding="utf-8")
        env = dict(os.environ, CITEBOT_INDEX_DIR=str(Path(tmp) / "ix"), PYTHONPATH=str(ROOT))
        if args.model:
            env["CITEBOT_MODEL"] = args.model
        subprocess.run([*CITEBOT, "index", "build", str(data)], env=env, check=True, capture_output=True)
        latest = complete = found_conflicts = false_flags = 0
        shown: list[float] = []
        for s in STORIES:
            as_of = last_day(s) + timedelta(days=1)
            asked = subprocess.run([*CITEBOT, "ask", "--json", "--as-of", as_of.isoformat(), s.question], env=env,
                                   capture_output=True, text=True, check=True)
            result = json.loads(asked.stdout)
            first = result["answers"][0]["text"] if result.get("answers") else ""
            newest = {s.values[-1], *((s.disagree[1],) if s.disagree else ())}  # the last day's values (two when they disagree)
            latest += any(v in first for v in newest) and not any(v in first for v in s.values[:-1] if v not in newest)
            values = {e["value"] for e in result.get("timeline", [])}
            wanted = {v.replace(",", "") for v in (*s.values, *((s.disagree[1],) if s.disagree else ()))}
            shown.append(len(values & wanted) / len(wanted))
            complete += values >= wanted
            if args.verbose:
                print(f"{s.key}: first answer {first!r}; timeline {[e['value'] for e in result.get('timeline', [])]}; "
                      f"conflict {result.get('conflict')}")
            if s.disagree:
                found_conflicts += bool(result.get("conflict"))
            else:
                false_flags += bool(result.get("conflict"))
        n = len(STORIES)
        disagreeing = sum(1 for s in STORIES if s.disagree)
        print(f"{n} stories, {len(articles())} articles:")
        print(f"  latest value in the first answer: {latest}/{n}")
        print(f"  timeline completeness: mean share of the story's values shown {sum(shown) / n:.2f}; every value shown {complete}/{n}")
        print(f"  same-day disagreements flagged: {found_conflicts}/{disagreeing}; conflicts flagged where none is: "
              f"{false_flags}/{n - disagreeing}")


if __name__ == "__main__":
    main()
