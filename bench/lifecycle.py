"""Index lifecycle figures with the real model: incremental add cost and watch latency.

    .venv/bin/python -m bench.lifecycle [--base 300]

Prints: sentences embedded when adding 1 article to an index of N (and when re-adding it), and
how long after a copy finishes the article is answerable through a running AnswerService with a
folder watcher, and how long after deletion it is gone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.corpora import ROOT, corpus
from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder
from citebot.index.ingest.files import load
from citebot.index.lifecycle.watch import FolderWatcher, watch_in_thread
from citebot.index.store.local.writer import write

NEW = ("The observatory in Tartu discovered a comet named Kallas on Sunday night.\n\n"
       "Astronomers said the comet will be visible with binoculars in early April.")
QUESTION = "What did the observatory in Tartu discover?"


def wait(predicate, timeout: float = 30.0) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise SystemExit("timed out")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=300, help="SQuAD paragraphs in the base index")
    ap.add_argument("--model", default=os.environ.get("CITEBOT_MODEL", DEFAULT_MODEL))
    args = ap.parse_args()
    embedder = make_embedder(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir, inbox = Path(tmp) / "ix", Path(tmp) / "inbox"
        inbox.mkdir()
        base = corpus("squad", args.base) + load([ROOT / "examples" / "articles"])[0]
        report = write(index_dir, embedder, base, fresh=True)
        print(f"base index: {report.articles_total} articles, {report.sentences_total} sentences")
        (Path(tmp) / "new.txt").write_text(NEW, encoding="utf-8")
        before = embedder.encoded
        added = write(index_dir, embedder, load([Path(tmp) / "new.txt"])[0])
        print(f"add 1 article: {embedder.encoded - before} sentences embedded ({added.sentences_total - report.sentences_total}"
              f" new sentences), {added.seconds:.2f}s")
        before = embedder.encoded
        again = write(index_dir, embedder, load([Path(tmp) / "new.txt"])[0])
        print(f"re-add the same article: {embedder.encoded - before} sentences embedded, {again.seconds:.2f}s")

        write(index_dir, embedder, removals=[a.id for a in load([Path(tmp) / "new.txt"])[0]])
        service = AnswerService(Settings(model=args.model, index_dir=index_dir), embedder_factory=lambda _: embedder)
        service.answerer()
        watcher = FolderWatcher(inbox, index_dir, embedder)
        watch_in_thread(watcher)
        try:
            def knows() -> bool:
                return any("comet" in a.text for a in service.ask(QUESTION).answers[:3])

            assert not knows()
            shutil.copy(Path(tmp) / "new.txt", inbox / "comet.txt")
            print(f"watch: copied file answerable after {wait(knows):.2f}s (debounce 1s + settle 1s)")
            (inbox / "comet.txt").unlink()
            print(f"watch: deleted file gone after {wait(lambda: not knows()):.2f}s")
        finally:
            watcher.stop()


if __name__ == "__main__":
    main()
