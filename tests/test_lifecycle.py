"""Index lifecycle on both stores (local; Milvus on milvus-lite): remove, sync, watch, hot reload under
concurrent writes, crash safety (SIGKILL)."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, run
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.errors import CitebotError
from citebot.index.ingest.articles import make_article
from citebot.index.lifecycle.sync import remove, stored_articles, sync
from citebot.index.lifecycle.watch import FolderWatcher, watch_in_thread
from tests.conftest import FAKE_MODEL, ROOT, SAMPLES, Stores


def article_text(topic: str, n: int = 3) -> str:
    return " ".join(f"The {topic} report number {i} says the {topic} budget grew." for i in range(n))


def cited(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {c.article_id for a in result.answers for c in a.citations}


def test_remove_by_id_and_by_path(tmp_path: Path, embedder: HashEmbedder, stores: Stores) -> None:
    folder = tmp_path / "news"
    shutil.copytree(SAMPLES, folder)
    store = stores.open()
    sync(store, embedder, folder)
    report = remove(store, ["port-aalborg-strike-2026-03", str(folder / "003_energy_desk.html"), "nope"])
    assert len(report.change.removed) == 2 and report.unknown == ["nope"]
    stored = stored_articles(store)
    assert str((folder / "003_energy_desk.html").resolve()) not in stored.values() and len(stored) == 5
    everything = store.reader()
    hits = everything.search(embedder.encode(["strike ships dockworkers mediator Lund"])[0], everything.manifest.sentences)
    assert len(hits) == everything.manifest.sentences and all(h.article_id != "port-aalborg-strike-2026-03" for h in hits)


def test_sync_mirrors_a_folder(tmp_path: Path, embedder: HashEmbedder, stores: Stores) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("The bridge toll will rise to 4 euros in May.", encoding="utf-8")
    (folder / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "Trams run all night on Fridays."}) + "\n"
                                    + json.dumps({"id": "b2", "text": "The zoo has a new panda called Mei."}) + "\n")
    store = stores.open()
    assert len(sync(store, embedder, folder).change.added) == 3
    (folder / "a.txt").write_text("The bridge toll will stay at 3 euros this year.", encoding="utf-8")
    (folder / "b.jsonl").write_text(json.dumps({"id": "b1", "text": "Trams run all night on Fridays."}) + "\n")
    (folder / "c.json").write_text("{half written", encoding="utf-8")
    report = sync(store, embedder, folder)
    assert len(report.change.updated) == 1 and report.change.removed == ["b2"] and len(report.skipped) == 1
    answerer = stores.service(store)
    result = answerer.ask("bridge toll 4 euros May")
    assert all("4 euros" not in a.text for a in result.answers)  # the removed claim is never cited again
    assert "b2" not in cited(answerer.ask("panda zoo Mei", top_k=20))
    (folder / "a.txt").unlink()
    assert len(sync(store, embedder, folder).change.removed) == 1
    assert sorted(stored_articles(store)) == ["b1"]


def test_cli_remove_and_sync(fake_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], stores: Stores,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in stores.env("index").items():
        monkeypatch.setenv(key, value)
    assert run(["index", "remove", "anything"]) == EXIT_ERROR  # no index yet: say how to build one
    assert "citebot index build" in capsys.readouterr().err
    assert not fake_env.exists() or stores.kind == "milvus"  # the local store creates nothing
    folder = tmp_path / "news"
    shutil.copytree(SAMPLES, folder)
    out = io.StringIO()
    assert run(["index", "sync", str(folder)], out=out) == EXIT_OK and "added 7" in out.getvalue()
    out = io.StringIO()
    capsys.readouterr()
    assert run(["index", "remove", "port-aalborg-strike-2026-03", "missing-id"], out=out) == EXIT_PARTIAL
    assert "removed: port-aalborg-strike-2026-03" in out.getvalue()
    note = capsys.readouterr().err  # its file is still in the synced folder: say it comes back, and how to keep it out
    assert f"{(folder / '005_port_strike.json').resolve()} is still in {folder.resolve()}" in note and "move or delete" in note
    loose = tmp_path / "loose.txt"
    loose.write_text("The ferry timetable changes on Monday.", encoding="utf-8")
    assert run(["index", "add", str(loose)], out=io.StringIO()) == EXIT_OK
    capsys.readouterr()
    assert run(["index", "remove", str(loose)], out=io.StringIO()) == EXIT_OK
    assert "note:" not in capsys.readouterr().err  # a file added alone is not in a followed folder
    out = io.StringIO()
    run(["index", "status", "--json"], out=out)
    status = json.loads(out.getvalue())
    assert (status["articles"], status["store"]) == (6, stores.kind)


def test_watch_adds_and_removes_within_seconds(tmp_path: Path, stores: Stores) -> None:
    folder, store = tmp_path / "inbox", stores.open()
    folder.mkdir()
    store.write(HashEmbedder(256), [make_article(article_text("harbour"), None)], fresh=True)
    batches = []
    watcher = FolderWatcher(folder, store, HashEmbedder(256), on_batch=batches.append, debounce=0.3, settle=0.3)
    watch_in_thread(watcher)
    answerer = stores.service(store)
    try:
        source = tmp_path / "incoming.txt"
        source.write_text("The observatory discovered a comet named Kallas on Sunday.", encoding="utf-8")
        shutil.copy(source, folder / "comet.txt")
        copied = time.monotonic()
        deadline = copied + 30
        while time.monotonic() < deadline and not any("comet" in a.text for a in answerer.ask("comet observatory").answers):
            time.sleep(0.1)
        assert any("comet" in a.text for a in answerer.ask("comet observatory").answers)
        (folder / "comet.txt").unlink()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any("comet" in a.text for a in answerer.ask("comet observatory").answers):
            time.sleep(0.1)
        assert not any("comet" in a.text for a in answerer.ask("comet observatory", top_k=20).answers)
    finally:
        watcher.stop()
    assert all(not b.skipped for b in batches)


def test_watch_never_ingests_a_half_written_file(tmp_path: Path, stores: Stores) -> None:
    folder, store = tmp_path / "inbox", stores.open()
    folder.mkdir()
    batches = []
    watcher = FolderWatcher(folder, store, HashEmbedder(256), on_batch=batches.append, debounce=0.2, settle=0.6)
    watch_in_thread(watcher)
    try:
        record = json.dumps({"id": "slow", "text": article_text("ferry", 40)})
        with open(folder / "slow.json", "w", encoding="utf-8") as handle:
            for i in range(0, len(record), 200):  # a slow copy: a chunk every 0.15 s for ~2 s
                handle.write(record[i: i + 200])
                handle.flush()
                time.sleep(0.15)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "slow" not in stored_articles(store):
            time.sleep(0.1)
    finally:
        watcher.stop()
    assert len(batches) >= 2 and all(not b.skipped for b in batches), [b.skipped for b in batches]  # first scan, then it
    assert stored_articles(store) and "slow" in stored_articles(store)


def test_questions_during_adds_and_removes_never_fail_or_mix(stores: Stores) -> None:
    store = stores.open()
    base = [make_article(article_text(t), None, id=f"base-{t}") for t in ("harbour", "railway", "school")]
    store.write(HashEmbedder(256), base, fresh=True)
    generations: dict[int, set[str]] = {}
    generations[1] = {a.id for a in base}
    answerer = stores.service(store)
    errors: list[BaseException] = []
    answers = []
    stop = threading.Event()

    def ask_forever() -> None:
        while not stop.is_set():
            try:
                answers.append(answerer.ask("budget report harbour railway school extra", top_k=10))
            except BaseException as exc:  # the test counts every failure
                errors.append(exc)

    asker = threading.Thread(target=ask_forever)
    asker.start()
    current = {a.id for a in base}
    try:
        for i in range(12 if stores.kind == "local" else 6):  # a milvus-lite write copies the generation: ~3 s
            extra = make_article(article_text(f"extra{i}"), None, id=f"extra-{i}")
            report = store.write(HashEmbedder(256), [extra], removals=[f"extra-{i - 1}"] if i else [])
            current = (current | {extra.id}) - {f"extra-{i - 1}"}
            generations[report.generation] = set(current)
            time.sleep(0.05)
    finally:
        stop.set()
        asker.join(30)
    assert errors == [] and len(answers) > 10 and len({r.generation for r in answers}) > 1
    for result in answers:
        assert cited(result) <= generations[result.generation], result.generation


KILL_QUESTION = "Which ships were delayed at the port?"


def _reopened(stores: Stores):  # type: ignore[no-untyped-def]
    """The store again after a killed writer (milvus-lite's server process notices its parent is gone within a second
    or two: until then the file is held)."""
    deadline = time.monotonic() + 20
    while True:
        stores.close()
        try:
            store = stores.open()
            store.status()
            return store
        except CitebotError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_sigkill_at_random_moments_leaves_a_good_index(tmp_path: Path, stores: Stores) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    embedder = HashEmbedder(256)
    files, runs = (60, 8) if stores.kind == "milvus" else (400, 20)  # milvus-lite writes ~10x slower
    store = stores.open()
    store.write(embedder, [make_article("About 120 ships were delayed at the port during the strike.", None, id="ships")],
                fresh=True)
    stores.close()
    for i in range(files):
        (batch / f"{i:03d}.txt").write_text(article_text(f"topic{i}", 6), encoding="utf-8")
    env = dict(os.environ, CITEBOT_MODEL=FAKE_MODEL, PYTHONPATH=str(ROOT), **stores.env())
    rng = random.Random(7)
    command = [sys.executable, "-m", "citebot.bot.cli", "index", "add", str(batch)]
    durations = []
    for _ in range(2):  # how long a complete add takes here, now (the machine may be busy)
        t0 = time.monotonic()
        subprocess.run(command, env=env, capture_output=True, timeout=300, check=True)
        durations.append(time.monotonic() - t0)
        remove(_reopened(stores), [str(batch)])
        stores.close()
    full = min(durations)
    kills = 0
    for _ in range(runs):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.9 * full))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(30)
        reader = _reopened(stores).reader(FAKE_MODEL)  # loadable after every kill, answering from a whole generation
        hits = reader.search(embedder.encode([KILL_QUESTION])[0], 1)
        assert hits[0].article_id == "ships" and reader.manifest.articles in (1, files + 1)
        reader.close()
        stores.close()
    assert kills >= runs // 2, (kills, durations)  # most runs really were killed mid-way
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    if stores.kind == "local":
        assert not list((tmp_path / "ix").glob(".tmp-gen-*"))
    assert _reopened(stores).reader().manifest.articles == files + 1


class SlowEmbedder(HashEmbedder):
    """The fake embedder, taking ``seconds`` per write: a first scan and each batch last long enough for files
    to arrive while they run, as they do with the real model."""

    def __init__(self, seconds: float) -> None:
        super().__init__(256)
        self.seconds = seconds

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        time.sleep(self.seconds)
        return super().encode(texts, progress)


def dated_story(word: str) -> str:
    return (f"The {word} committee met on Tuesday in the harbour town. It approved the {word} budget of "
            f"twelve million euros for new ferries.\n")


def test_watch_loses_no_file_dropped_during_start_up_or_writes(tmp_path: Path, stores: Stores) -> None:
    folder, store = tmp_path / "inbox", stores.open()
    folder.mkdir()
    for i in range(200):  # new articles: the first scan has to embed and write them all
        (folder / f"old{i:03d}.txt").write_text(dated_story(f"oldword{i:03d}"), encoding="utf-8")
    staging = tmp_path / "staging"
    staging.mkdir()
    dropped = [f"dropword{i:02d}" for i in range(20)]
    for word in dropped:
        (staging / f"{word}.txt").write_text(dated_story(word), encoding="utf-8")
    rng = random.Random(36)
    moments = sorted(rng.uniform(0.0, 4.0) for _ in dropped)  # start-up takes ~1.5 s, each later write ~1.5 s

    def drop() -> None:
        started = time.monotonic()
        for moment, word in zip(moments, dropped, strict=True):
            time.sleep(max(0.0, started + moment - time.monotonic()))
            shutil.copy(staging / f"{word}.txt", folder / f"{word}.txt")

    watcher = FolderWatcher(folder, store, SlowEmbedder(1.5), debounce=0.2, settle=0.2)
    dropper = threading.Thread(target=drop)
    dropper.start()
    try:
        watch_in_thread(watcher)  # listens, then the first scan: files keep arriving during both
        dropper.join()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stored_articles(store)) < 220:
            time.sleep(0.2)
    finally:
        dropper.join()
        watcher.stop()
    paths = set(stored_articles(store).values())
    missing = [w for w in dropped if str((folder / f"{w}.txt").resolve()) not in paths]
    assert not missing and len(paths) == 220, missing
    answerer = stores.service(store)
    for word in dropped:  # each one answerable, cited from its own file
        result = answerer.ask(f"What budget did the {word} committee approve?")
        assert any(word in a.text for a in result.answers[:3]), word
