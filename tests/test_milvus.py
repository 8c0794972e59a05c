"""The Milvus store on milvus-lite (the real engine in a local file, no mock): the same answers as
the local store, the lifecycle (add, change, remove, sync, watch, feeds, export), queries during
writes, a killed writer, and faults named by URI without the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_ERROR, EXIT_OK, run
from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.errors import CitebotError, IndexMismatch
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.lifecycle.sync import remove, stored_articles, sync
from citebot.index.lifecycle.watch import FolderWatcher, watch_in_thread
from citebot.index.search.hybrid import HybridSearch
from citebot.index.store.open import open_store
from tests.conftest import FAKE_MODEL, ROOT, SAMPLES, Stores

pytest.importorskip("milvus_lite")

QUESTIONS = ["Who co-chaired the session?", "How much will the offshore wind zones cost?", "When did the dockworkers return?",
             "Which ministry issued the statement?", "What did the union accept?", "Where is the next session planned?",
             "What happened to steel prices?", "Who brokered the agreement?"]


OPENED: list[Stores] = []


@pytest.fixture(autouse=True)
def close_milvus():  # type: ignore[no-untyped-def]
    """Close every milvus-lite store a test opened (closing stops the embedded engine and lets go of the file)."""
    yield
    while OPENED:
        OPENED.pop().close()


def milvus(tmp_path: Path, name: str = "ws"):  # type: ignore[no-untyped-def]
    stores = Stores("milvus", tmp_path)
    OPENED.append(stores)
    return stores.open(name)


def top_hits(store, question: str, k: int = 10) -> list[int]:  # type: ignore[no-untyped-def]
    reader = store.reader()
    try:
        return [h.sentence_id for h in HybridSearch(reader).search(question, HashEmbedder(256).encode([question])[0], k).hits]
    finally:
        reader.close()


def test_both_stores_give_the_same_answers(tmp_path: Path) -> None:
    """Same sentence ids, same dense scores; BM25 over the same terms (tantivy's length quantisation
    moves its scores by about 1 %), so the top 3 are identical and the top 10 share at least 9."""
    articles, _ = load([SAMPLES])
    local, remote = open_store("local", tmp_path / "local"), milvus(tmp_path)
    local.write(HashEmbedder(256), articles, fresh=True)
    report = remote.write(HashEmbedder(256), articles, fresh=True)
    assert (report.articles_total, report.sentences_total) == (local.status()["articles"], local.status()["sentences"])
    for question in QUESTIONS:
        a, b = top_hits(local, question), top_hits(remote, question)
        assert a[:3] == b[:3] and len(set(a) & set(b)) >= 9, question
    assert remote.describe() == {"store": "milvus", "location": str(tmp_path / "ws" / "milvus.db"), "collection": "citebot"}


def test_lifecycle_on_milvus_never_re_embeds_and_keeps_generations_apart(tmp_path: Path) -> None:
    store = milvus(tmp_path)
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.txt").write_text("The harbour crane broke down on Monday, port officials said.", encoding="utf-8")
    (folder / "b.txt").write_text("The ferry to Tallinn was cancelled because of ice on Friday.", encoding="utf-8")
    first = sync(store, HashEmbedder(256), folder)
    assert len(first.change.added) == 2 and store.status()["generation"] == 1
    reader = store.reader()  # a reader pinned to generation 1
    again = sync(store, HashEmbedder(256), folder)
    assert again.change.sentences_embedded == 0 and store.status()["generation"] == 1  # nothing changed: nothing published
    (folder / "a.txt").write_text("The harbour crane was repaired on Tuesday, port officials said.", encoding="utf-8")
    (folder / "b.txt").unlink()
    changed = sync(store, HashEmbedder(256), folder)
    assert (len(changed.change.updated), len(changed.change.removed)) == (1, 1)
    assert changed.change.sentences_embedded == 1 and store.status()["articles"] == 1
    old = reader.hits([(int(i), 1.0) for i in reader.sentence_ids()])
    assert {h.text for h in old} >= {"The ferry to Tallinn was cancelled because of ice on Friday."}  # still generation 1
    live = store.reader()
    assert [h.text for h in live.hits([(int(i), 1.0) for i in live.sentence_ids()])] == [
        "The harbour crane was repaired on Tuesday, port officials said."]
    story = make_article("A comet named Kallas was seen over Tartu on Sunday night.", None, id="comet")
    store.write(HashEmbedder(256), [story])
    assert "comet" in stored_articles(store)
    assert remove(store, ["comet", "nope"]).unknown == ["nope"] and "comet" not in stored_articles(store)


def test_watch_and_questions_during_writes_on_milvus(tmp_path: Path) -> None:
    store = milvus(tmp_path)
    store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)
    settings = Settings(model=FAKE_MODEL, index_dir=tmp_path / "ws", reranker="none", store="milvus",
                        milvus_uri=str(tmp_path / "ws" / "milvus.db"))
    service = AnswerService(settings, embedder_factory=lambda _: HashEmbedder(256))
    service.store = store  # one milvus-lite process: share the client
    folder = tmp_path / "inbox"
    folder.mkdir()
    watcher = FolderWatcher(folder, store, HashEmbedder(256), debounce=0.2, settle=0.2)
    watch_in_thread(watcher)
    errors: list[BaseException] = []
    generations: set[object] = set()
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                result = service.ask("Who co-chaired the session?")
                assert result.answers and "Tamm" in result.answers[0].text
                generations.add(result.generation)
            except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
                errors.append(exc)

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for t in askers:
        t.start()
    try:
        (folder / "comet.txt").write_text("The observatory discovered a comet named Kallas on Sunday.", encoding="utf-8")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("comet" in a.text for a in service.ask("comet observatory").answers):
            time.sleep(0.2)
        assert any("comet" in a.text for a in service.ask("comet observatory").answers)
        (folder / "second.txt").write_text("The lighthouse keeper retired after forty years.", encoding="utf-8")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("lighthouse" in a.text for a in service.ask("lighthouse keeper").answers):
            time.sleep(0.2)
    finally:
        stop.set()
        for t in askers:
            t.join(30)
        watcher.stop()
    assert not errors, errors[:3]
    assert len(generations) >= 2  # the questions ran across generations, each answered from one


def test_cli_build_ask_status_export_on_milvus(fake_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CITEBOT_MILVUS_TOKEN", "root:s3cret-token")
    assert run(["index", "build", str(SAMPLES)]) == EXIT_OK  # local first
    capsys.readouterr()
    assert run(["ask", "--json", "Who co-chaired the session?"]) == EXIT_OK
    local_answer = json.loads(capsys.readouterr().out)
    assert run(["index", "export", "--to", "milvus"]) == EXIT_OK
    out = capsys.readouterr()
    assert "exported 7 articles" in out.out and "s3cret" not in out.out + out.err
    assert run(["--store", "milvus", "ask", "--json", "Who co-chaired the session?"]) == EXIT_OK
    milvus_answer = json.loads(capsys.readouterr().out)
    assert [a["text"] for a in milvus_answer["answers"]] == [a["text"] for a in local_answer["answers"]]
    assert run(["index", "status", "--json", "--store", "milvus"]) == EXIT_OK
    status = json.loads(capsys.readouterr().out)
    assert (status["store"], status["collection"], status["articles"]) == ("milvus", "citebot", 7)
    assert status["location"].endswith("milvus.db") and "s3cret" not in json.dumps(status)
    monkeypatch.setenv("CITEBOT_STORE", "milvus")
    assert run(["index", "add", str(tmp_path / "nope.txt")]) == 3
    assert run(["index", "remove", "port-aalborg-strike-2026-03"]) == EXIT_OK
    assert "s3cret" not in repr(Settings.from_env())


def test_unreachable_milvus_and_another_model_are_one_clear_message(fake_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CITEBOT_STORE", "milvus")
    monkeypatch.setenv("CITEBOT_MILVUS_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("CITEBOT_MILVUS_TOKEN", "root:s3cret-token")
    started = time.monotonic()
    assert run(["ask", "Who co-chaired the session?"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "Milvus at http://127.0.0.1:9 is not usable" in err and "s3cret" not in err and "Traceback" not in err
    assert time.monotonic() - started < 120  # a bounded wait, not a hang
    monkeypatch.delenv("CITEBOT_MILVUS_URI")
    assert run(["index", "build", str(SAMPLES)]) == EXIT_OK
    capsys.readouterr()
    monkeypatch.setenv("CITEBOT_MODEL", "fake:hash-128")
    (fake_env.parent / "new.txt").write_text("The new ferry terminal opened on Monday.", encoding="utf-8")
    assert run(["index", "add", str(fake_env.parent / "new.txt")]) == EXIT_ERROR
    assert "built with model 'fake:hash-256'" in capsys.readouterr().err
    assert run(["ask", "Who co-chaired the session?"]) == EXIT_ERROR
    assert "built with model 'fake:hash-256'" in capsys.readouterr().err


def test_another_dimension_is_refused_when_writing(tmp_path: Path) -> None:
    store = milvus(tmp_path)
    store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)
    with pytest.raises(IndexMismatch, match="256-dimensional"):
        store.write(HashEmbedder(128), [make_article("The new ferry terminal opened on Monday.", None)])


def test_milvus_settings_never_show_the_token() -> None:
    settings = Settings.from_env({"CITEBOT_STORE": "milvus", "CITEBOT_MILVUS_URI": "https://in01.example.com:19530",
                                  "CITEBOT_MILVUS_TOKEN": "user:hunter2"})
    store = open_store(settings.store, Path("/tmp/ws"), settings.milvus_uri, settings.milvus_token, settings.milvus_collection)
    assert "hunter2" not in repr(settings) + repr(store) + str(store.describe())
    with pytest.raises(CitebotError, match="valid Milvus name"):
        open_store("milvus", Path("/tmp/ws"), "x.db", None, "bad-name!")


def test_milvus_going_away_mid_service_gets_something_went_wrong_in_the_thread(fake, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from citebot.bot.slack.listeners import SOMETHING_WRONG
    from tests.slack_helpers import bot_settings, http_bot, mention, service_for

    store = milvus(tmp_path)
    store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)
    settings = bot_settings(fake, tmp_path / "ws", FAKE_MODEL, store="milvus", milvus_uri=store.uri)
    service = service_for(settings)
    service.store = store  # one milvus-lite process: the bot shares the test's client
    with http_bot(fake, settings, service) as bot:
        bot.post_event(mention("who co-chaired the session?", ts="1700000900.000100"), event_id="EvM1")
        first = fake.wait_calls("chat.postMessage")[0]
        assert "Tamm" in json.dumps(first.params)
        store.client.close()  # Milvus goes away (the store's handle stays, as a dead connection would)
        bot.post_event(mention("who co-chaired the session?", ts="1700000900.000200"), event_id="EvM2")
        second = fake.wait_calls("chat.postMessage", count=2)[1]
    assert second.params["text"] == SOMETHING_WRONG and second.params["thread_ts"] == "1700000900.000200"


def test_embedded_milvus_open_in_another_process_is_named(tmp_path: Path) -> None:
    store = milvus(tmp_path)
    store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)  # this process holds the file
    env = dict(os.environ, CITEBOT_MODEL=FAKE_MODEL, CITEBOT_INDEX_DIR=str(tmp_path / "ws"), CITEBOT_STORE="milvus",
               PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "status"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == EXIT_ERROR and "Traceback" not in proc.stderr
    assert "another process has it open" in proc.stderr and str(tmp_path / "ws" / "milvus.db") in proc.stderr


def test_feed_items_reach_a_milvus_store(tmp_path: Path) -> None:
    from citebot.index.ingest.fetch import Fetcher
    from citebot.index.lifecycle.feeds import FeedFollower
    from tests.web_server import Feed, Item, WebServer

    web = WebServer().start()
    try:
        feed = Feed()
        web.routes["/feed.xml"] = feed.handler
        web.page("/news/1", "<html><head><title>Dredger hits pier</title></head><body><article><p>The dredger Baltic Star "
                            "hit the north pier of Liepaja harbour on Tuesday, the harbour master said.</p></article></body></html>")
        feed.add(Item("Dredger hits pier", web.url("/news/1"), "urn:1"))
        store = milvus(tmp_path)
        store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)
        follower = FeedFollower([web.url("/feed.xml")], store, HashEmbedder(256), interval=0.01,
                                fetcher=Fetcher(timeout=2, attempts=1))
        first = follower.poll(web.url("/feed.xml"))
        assert first.new == [web.url("/news/1")] and first.generation == 2
        assert follower.poll(web.url("/feed.xml")).not_modified
        reader = store.reader()
        hits = HybridSearch(reader).search("dredger pier", HashEmbedder(256).encode(["dredger pier"])[0], 3).hits
        assert hits[0].url == web.url("/news/1") and "Baltic Star" in hits[0].text
        assert (tmp_path / "ws" / "feeds.json").is_file()  # feed state lives in the local workspace
    finally:
        web.stop()


def test_a_milvus_server_by_uri_and_token_and_a_refused_token(fake_env: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The same CLI against a Milvus server over the network (http://host:port, a token), then a wrong token: one
    message naming the URI, never the token, exit 1, no traceback."""
    from tests.milvus_server import MilvusServer

    server = MilvusServer(tmp_path / "server-data", token="root:Milvus-s3cret").start()
    try:
        monkeypatch.setenv("CITEBOT_STORE", "milvus")
        monkeypatch.setenv("CITEBOT_MILVUS_URI", server.uri)
        monkeypatch.setenv("CITEBOT_MILVUS_TOKEN", "root:Milvus-s3cret")
        assert run(["index", "build", str(SAMPLES)]) == EXIT_OK
        capsys.readouterr()
        assert run(["ask", "--json", "Who co-chaired the session?"]) == EXIT_OK
        assert "Tamm" in json.loads(capsys.readouterr().out)["answers"][0]["text"]
        assert run(["index", "status", "--json"]) == EXIT_OK
        status = json.loads(capsys.readouterr().out)
        assert (status["location"], status["articles"]) == (server.uri, 7) and "s3cret" not in json.dumps(status)
        monkeypatch.setenv("CITEBOT_MILVUS_TOKEN", "root:wrong-s3cret")
        for command in (["ask", "Who co-chaired the session?"], ["index", "status"], ["index", "add", str(SAMPLES)]):
            assert run(command) == EXIT_ERROR, command
            err = capsys.readouterr().err
            assert f"Milvus at {server.uri} is not usable" in err and "CITEBOT_MILVUS_TOKEN" in err, err
            assert "s3cret" not in err and "Traceback" not in err
    finally:
        server.stop()
