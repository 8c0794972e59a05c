"""Files copied into a watched folder while `citebot index watch` starts up are never lost.

    .venv/bin/python -m bench.watch_race [--articles 200] [--drops 20] [--stores local,milvus]

For each store: a folder of N new articles; `citebot index watch` starts on it (the real model,
the real command in a subprocess) and, at random moments of its start-up (while it loads the
model and reads and embeds the folder for the first time), D more files are copied in. When the
watcher has logged every article, it is stopped with Ctrl-C and each copied file's question is
asked with `citebot ask --json --batch -`. Prints how many of the D are in the index and
answered from their own file in the top 3, and how long start-up and the whole run took.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITEBOT = [sys.executable, "-m", "citebot.bot.cli"]
SYLLABLES = ["var", "nol", "ket", "sil", "dra", "mon", "pel", "tor", "vik", "lun", "bar", "hest", "ul", "gor", "fen", "rad"]
THINGS = ["a new ferry terminal", "a hospital wing", "flood barriers", "a tram line", "school roofs",
          "a concert hall", "street lighting", "a fish market", "bicycle bridges", "a water plant"]


def town(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def story(name: str, thing: str, amount: int) -> str:
    return (f"{name.upper()}: The {name} town council approved {amount} million euros for {thing} on Tuesday.\n\n"
            f"The mayor of {name} said work would start in the spring and take two years.\n\n"
            f"Opposition members in {name} had asked for a public vote on the plan.\n")


def added_so_far(log: str) -> int:
    return sum(int(n) for n in re.findall(r"\badded (\d+),", log))


def run_store(kind: str, articles: int, drops: int, seed: int, timeout: float) -> dict[str, object]:
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < articles + drops:
        name = town(rng)
        if name not in names:
            names.append(name)
    with tempfile.TemporaryDirectory() as tmp:
        folder, staging = Path(tmp) / "inbox", Path(tmp) / "staging"
        folder.mkdir()
        staging.mkdir()
        for n, name in enumerate(names):
            where = folder if n < articles else staging
            (where / f"{name.lower()}.txt").write_text(story(name, rng.choice(THINGS), rng.randint(2, 90)), encoding="utf-8")
        dropped = names[articles:]
        env = dict(os.environ, CITEBOT_STORE=kind, CITEBOT_INDEX_DIR=str(Path(tmp) / "ix"), PYTHONPATH=str(ROOT))
        if kind == "milvus":
            env["CITEBOT_MILVUS_URI"] = str(Path(tmp) / "ix" / "milvus.db")
        started = time.monotonic()
        watcher = subprocess.Popen([*CITEBOT, "index", "watch", str(folder)], env=env, stderr=subprocess.PIPE, text=True)
        log: list[str] = []
        reader = threading.Thread(target=lambda: log.extend(iter(watcher.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
        reader.start()
        ready_at: list[float] = []
        moments = sorted(rng.uniform(0.0, 1.0) for _ in dropped)  # shares of start-up, set once it is known
        startup_guess = 25.0  # seconds: model load plus the first scan of N articles, on this machine
        for moment, name in zip(moments, dropped, strict=True):
            time.sleep(max(0.0, started + moment * startup_guess - time.monotonic()))
            if not ready_at and any("watching folder" in line for line in log):
                ready_at.append(time.monotonic() - started)
            shutil.copy(staging / f"{name.lower()}.txt", folder / f"{name.lower()}.txt")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and added_so_far("".join(log)) < articles + drops and watcher.poll() is None:
            time.sleep(0.2)
        if not ready_at:
            ready_at.append(next((time.monotonic() - started for line in log if "watching folder" in line), float("nan")))
        total = time.monotonic() - started
        watcher.send_signal(signal.SIGINT)
        watcher.wait(60)
        questions = "".join(f"How much did the {name} town council approve?\n" for name in dropped)
        asked = subprocess.run([*CITEBOT, "ask", "--json", "--batch", "-"], env=env, input=questions,
                               capture_output=True, text=True, timeout=600)
        answered = 0
        for name, line in zip(dropped, asked.stdout.splitlines(), strict=False):
            result = json.loads(line)
            files = {Path(c.get("path") or "").name for a in result.get("answers", [])[:3] for c in a["citations"]}
            answered += f"{name.lower()}.txt" in files and not result.get("abstained", True)
        status = subprocess.run([*CITEBOT, "index", "status", "--json"], env=env, capture_output=True, text=True, timeout=300)
        indexed = json.loads(status.stdout)["articles"] if status.returncode == 0 else 0
        copied_during_startup = sum(1 for m in moments if m * startup_guess < ready_at[0])
        return {"store": kind, "indexed": indexed, "expected": articles + drops, "answered": answered,
                "dropped": len(dropped), "dropped_during_startup": copied_during_startup,
                "startup_s": round(ready_at[0], 1), "all_in_s": round(total, 1), "exit": watcher.returncode,
                "log_lines": len(log)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--drops", type=int, default=20)
    ap.add_argument("--stores", default="local,milvus")
    ap.add_argument("--seed", type=int, default=36)
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for every article after the last copy")
    args = ap.parse_args()
    for kind in args.stores.split(","):
        r = run_store(kind, args.articles, args.drops, args.seed, args.timeout)
        print(f"{r['store']:>6}: {r['answered']}/{r['dropped']} copied files answerable from their own file "
              f"({r['dropped_during_startup']} copied before the watcher said it was watching); "
              f"index holds {r['indexed']}/{r['expected']} articles; start-up {r['startup_s']} s, "
              f"all ingested {r['all_in_s']} s after start; watcher exit {r['exit']}", flush=True)


if __name__ == "__main__":
    main()
