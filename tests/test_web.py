"""Web pages and feeds from a real HTTP server on 127.0.0.1: extraction, `index add URL`,
`index follow`, a running service answering about a new feed item, and every failure named by URL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, run
from citebot.bot.config import ConfigError, Settings
from citebot.bot.service import AnswerService
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.fetch import Fetcher, FetchError, retry_after_seconds
from citebot.index.ingest.files import load
from citebot.index.ingest.html import page_article
from citebot.index.ingest.sentences import split_article
from citebot.index.lifecycle.feeds import FeedFollower, parse_feed
from citebot.index.lifecycle.sync import stored_articles
from citebot.index.store.local.writer import write
from tests.conftest import FAKE_MODEL
from tests.web_server import Feed, Item, Route, WebServer, sample_page

HARBOUR_BOILERPLATE = ("RELATED STORIES", "Tallinn dockers watch", "Sign up", "newsletter", "Our Standards",
                       "4 Min Read", "Share on", "All rights reserved", "Subscribe")


@pytest.fixture
def web():  # type: ignore[no-untyped-def]
    server = WebServer().start()
    yield server
    server.stop()


def indexed_text(article) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(article.body[s:e] for s, e in article.content_spans)


def count_articles(index_dir: Path) -> int:
    return len(stored_articles(index_dir))


def service(index_dir: Path) -> AnswerService:
    return AnswerService(Settings(model=FAKE_MODEL, index_dir=index_dir, reranker="none"),
                         embedder_factory=lambda n: HashEmbedder(256))


# extraction ------------------------------------------------------------------------------------

def test_page_keeps_div_paragraphs_and_standfirst_and_drops_boilerplate() -> None:
    article = page_article(sample_page("harbour_wire.html"), "harbour.html")
    text = indexed_text(article)
    assert "31 container ships waiting at anchor" in text  # <div> paragraphs, not <p>
    assert "Berzina said the union would ask members" in text  # after the related-stories box
    assert text.startswith("Dockers in Riga will return to work on Friday")  # the standfirst (page description)
    assert "RIGA:" not in text  # the dateline is left out of the prose
    for junk in HARBOUR_BOILERPLATE:
        assert junk.lower() not in text.lower(), junk
    assert (article.title, article.source, article.published) == (
        "Riga port agrees night-shift deal after three-day stoppage", "Harbour Wire", "2026-04-02")  # JSON-LD date
    assert article.url == "https://harbourwire.example/2026/04/02/riga-night-shift-deal"
    for sentence in split_article(article):
        assert article.body[sentence.char_start:sentence.char_end] == sentence.text


def test_page_built_by_scripts_uses_the_declared_article_body() -> None:
    article = page_article(sample_page("script_built.html"), "ledger.html")
    text = indexed_text(article)
    assert "two battery-electric ferries worth PLN 610 million" in text
    assert "Marta Wisniewska said the order secured 900 jobs" in text
    assert "at dusk" not in text  # the only visible text, a caption, is not the article
    assert (article.source, article.published) == ("Coastal Ledger", "2026-04-07")


def test_reader_calls_are_cut_from_the_paragraph_holding_them() -> None:
    article = page_article(
        "<html><body><article><p>The council approved the harbour budget of EUR 12 million on Monday, officials said.</p>"
        "<p>The vote was 31 to 4. For the latest stories download the Harbour Wire app for iOS and Android.</p>"
        "<p>We want to hear what you think about this article. Submit a letter to the editor.</p>"
        "<p>Release Date:</p></article></body></html>", None)
    text = indexed_text(article)
    assert "The vote was 31 to 4." in text
    assert "download" not in text and "letter to the editor" not in text and "Release Date" not in text


# fetching --------------------------------------------------------------------------------------

def test_fetch_follows_redirects_and_reports_the_final_url(web: WebServer) -> None:
    web.page("/story", sample_page("harbour_wire.html"))
    web.routes["/go"] = Route(302, b"", {"Location": "/story"})
    with Fetcher() as fetcher:
        page = fetcher.page(web.url("/go"))
    assert page.url == web.url("/story") and "Freeport of Riga" in page.text
    assert web.hits("/story")[0]["user-agent"].startswith("citebot/")


def test_fetch_honours_retry_after_on_429(web: WebServer) -> None:
    answers = iter([Route(429, b"slow down", {"Retry-After": "1", "Content-Type": "text/html"})])
    web.routes["/busy"] = lambda headers: next(answers, Route(200, sample_page("harbour_wire.html").encode()))
    with Fetcher(backoff=0.01) as fetcher:
        page = fetcher.page(web.url("/busy"))
    assert "Freeport of Riga" in page.text
    stamps = [t for p, t in web.times if p == "/busy"]
    assert len(stamps) == 2 and stamps[1] - stamps[0] >= 0.9  # waited what Retry-After asked, not the 0.01 s backoff


def test_retry_after_forms() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


FAILURES = {
    "/gone": (Route(404, b"<html>nope</html>"), "HTTP 404"),
    "/broken": (Route(500, b"<html>oops</html>"), "HTTP 500"),
    "/slow": (Route(200, b"<html>late</html>", delay=3.0), "timed out"),
    "/report.pdf": (Route(200, b"%PDF-1.7 ...", {"Content-Type": "application/pdf"}), "not an HTML page (content type application/pdf)"),
    "/loop": (Route(302, b"", {"Location": "/loop"}), "too many redirects"),
    "/huge": (Route(200, stream_bytes=50 * 1024 * 1024), "too large"),
    "/empty": (Route(200, b"<html><head><title>x</title></head><body><nav>Home</nav></body></html>"), "no article"),
}


def test_index_add_urls_reports_each_failure_and_loses_nothing(fake_env: Path, web: WebServer,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    web.page("/riga", sample_page("harbour_wire.html"))
    for path, (route, _) in FAILURES.items():
        web.routes[path] = route
    assert run(["index", "add", web.url("/riga")]) == EXIT_OK
    before = stored_articles(fake_env)
    urls = [web.url(p) for p in FAILURES] + ["ftp://harbourwire.example/x", "file:///etc/passwd"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITEBOT_FETCH_TIMEOUT", "1")
        mp.setenv("CITEBOT_FETCH_RETRIES", "1")
        code = run(["index", "add", *urls])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL
    for path, (_, reason) in FAILURES.items():
        line = next(x for x in err.splitlines() if x.startswith(f"skipped {web.url(path)}:"))
        assert reason in line, (path, line)
    assert "only http and https URLs are fetched, not ftp" in err and "not file" in err
    assert "Traceback" not in err
    assert stored_articles(fake_env) == before  # nothing removed, nothing half-added


def test_index_add_url_cites_the_final_url_and_does_not_re_embed(fake_env: Path, web: WebServer,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    web.page("/2026/riga", sample_page("harbour_wire.html"))
    web.routes["/short/r"] = Route(301, b"", {"Location": "/2026/riga"})
    url_file = fake_env.parent / "urls.txt"
    url_file.write_text(f"# links of the day\n{web.url('/short/r')}\n\n", encoding="utf-8")
    assert run(["index", "add", "--urls", str(url_file)]) == EXIT_OK
    capsys.readouterr()
    assert run(["ask", "--json", "Who chairs the Latvian Dockworkers Union?"]) == EXIT_OK
    answer = json.loads(capsys.readouterr().out)
    citations = [c for a in answer["answers"] for c in a["citations"]]
    assert any("Ilze Berzina" in a["text"] for a in answer["answers"])
    assert {c["url"] for c in citations} == {web.url("/2026/riga")}  # the final URL, not the short link or canonical
    assert run(["index", "add", web.url("/2026/riga")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 sentences embedded" in out and "unchanged, skipped" in out
    web.page("/2026/riga", sample_page("harbour_wire.html").replace("14 per cent", "15 per cent"))
    assert run(["index", "add", web.url("/2026/riga")]) == EXIT_OK
    assert "1 updated" in capsys.readouterr().out and count_articles(fake_env) == 1
    assert run(["index", "remove", web.url("/2026/riga")]) == EXIT_OK
    assert count_articles(fake_env) == 0


def test_index_add_without_sources_is_a_usage_error(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["index", "add"]) == EXIT_USAGE
    assert "give files, folders or URLs" in capsys.readouterr().err


# feeds -----------------------------------------------------------------------------------------

def story(n: int, subject: str) -> str:
    return (f"<html><head><title>Story {n}</title><meta property='og:site_name' content='Harbour Wire'></head><body><article>"
            f"<p>The {subject} was reported by the harbour master on Tuesday, officials said in a statement.</p>"
            f"<p>Officials expect the {subject} to be resolved within {n + 2} days, the statement added.</p>"
            "</article></body></html>")


def publish(web: WebServer, feed: Feed, n: int, subject: str) -> None:
    path = f"/news/{n}"
    web.page(path, story(n, subject))
    feed.add(Item(f"Story {n}", web.url(path), f"urn:harbour:{n}"))


def follower(index_dir: Path, feeds: list[str], **kw) -> FeedFollower:  # type: ignore[no-untyped-def]
    return FeedFollower(feeds, index_dir, HashEmbedder(256), interval=kw.pop("interval", 0.01),
                        fetcher=Fetcher(timeout=1, attempts=2, backoff=0.01), **kw)


def index_and_feed(tmp_path: Path, web: WebServer, path: str) -> tuple[Path, Feed]:
    """An index of one unrelated article, and a feed served at ``path`` with one story."""
    index_dir = tmp_path / "ix"
    write(index_dir, HashEmbedder(256), [make_article("The lighthouse was painted white in 1998 by volunteers.", None)],
          fresh=True)
    feed = Feed()
    web.routes[path] = feed.handler
    publish(web, feed, 1, "crane failure")
    return index_dir, feed


def test_feed_item_becomes_answerable_through_a_running_service(tmp_path: Path, web: WebServer) -> None:
    index_dir, feed = index_and_feed(tmp_path, web, "/feed.xml")
    answers = service(index_dir)
    assert not any("dredger" in a.text for a in answers.ask("dredger collision harbour master").answers)
    reports = []
    poller = follower(index_dir, [web.url("/feed.xml")], on_poll=reports.append)
    first = poller.poll(web.url("/feed.xml"))
    assert len(first.new) == 1 and first.error is None
    second = poller.poll(web.url("/feed.xml"))
    assert second.not_modified and web.hits("/feed.xml")[-1].get("if-none-match")  # conditional GET, 304
    publish(web, feed, 2, "dredger collision")
    third = poller.poll(web.url("/feed.xml"))
    assert (third.new, third.unchanged) == ([web.url("/news/2")], 1)  # only the new item's page is fetched
    assert len(web.hits("/news/1")) == 1
    result = answers.ask("dredger collision harbour master")  # the same service object: no restart
    assert any("dredger collision" in a.text for a in result.answers)
    cites = {c.url for a in result.answers for c in a.citations if "dredger" in a.text}
    assert web.url("/news/2") in cites
    assert [r.line() for r in reports][1].endswith("not modified")


def test_failing_feeds_are_reported_backed_off_and_never_stop_the_others(tmp_path: Path, web: WebServer) -> None:
    index_dir, _ = index_and_feed(tmp_path, web, "/good.xml")
    web.routes["/down.xml"] = Route(500, b"oops")
    web.routes["/bad.xml"] = Route(200, b"<rss><channel><item><title>unclosed", {"Content-Type": "application/xml"})
    web.routes["/page.xml"] = Route(200, b"%PDF", {"Content-Type": "application/pdf"})
    web.routes["/missing.xml"] = Route(404, b"")
    urls = {name: web.url(f"/{name}.xml") for name in ("down", "bad", "page", "missing", "good")}
    poller = follower(index_dir, list(urls.values()), interval=60)
    reports = {r.feed: r for r in poller.poll_due()}
    assert "HTTP 500" in reports[urls["down"]].error
    assert "not a readable RSS/Atom feed" in reports[urls["bad"]].error
    assert "not a feed (content type application/pdf)" in reports[urls["page"]].error
    assert "HTTP 404" in reports[urls["missing"]].error
    assert len(reports[urls["good"]].new) == 1
    assert count_articles(index_dir) == 2  # the old article stays, the good feed's item is in
    down = poller.states[urls["down"]]
    first_wait = down.next_poll - time.time()
    poller.poll(urls["down"])
    assert down.failures == 2 and down.next_poll - time.time() > first_wait + 30  # exponential backoff
    assert poller.poll_due() == []  # nothing is due yet: no feed is hammered
    assert "next try in" in reports[urls["down"]].line() and "nothing removed" in reports[urls["down"]].line()


def test_feed_items_dedupe_by_content_and_fall_back_to_feed_content(tmp_path: Path, web: WebServer) -> None:
    index_dir = tmp_path / "ix"
    one, two = Feed("one"), Feed("two")
    web.routes["/one.xml"], web.routes["/two.xml"] = one.handler, two.handler
    publish(web, one, 1, "pilot boat strike")
    web.page("/mirror/1", story(1, "pilot boat strike"))
    two.add(Item("Story 1 (wire)", web.url("/mirror/1"), "urn:two:1"))
    body = "<p>" + " ".join(f"The ferry timetable changes on route {i} from Monday, operators said." for i in range(5)) + "</p>"
    two.add(Item("Ferry timetable", web.url("/gone"), "urn:two:2", content=body))
    two.add(Item("No text", web.url("/gone-too"), "urn:two:3"))
    poller = follower(index_dir, [web.url("/one.xml"), web.url("/two.xml")])
    reports = poller.poll_due()
    by_feed = {r.feed: r for r in reports}
    assert len(by_feed[web.url("/one.xml")].new) == 1
    second = by_feed[web.url("/two.xml")]
    assert second.new == [web.url("/gone")]  # its page is gone (404): the feed's own full text is used
    assert second.unchanged == 1  # the wire copy with the same text is not indexed twice
    assert len(second.failed) == 1 and "gone-too: HTTP 404" in second.failed[0]
    assert count_articles(index_dir) == 2
    again = poller.poll(web.url("/two.xml"))  # the failed item is retried (no 304 hides it)
    assert not again.not_modified and len(again.failed) == 1


def test_feed_state_survives_a_restart(tmp_path: Path, web: WebServer) -> None:
    index_dir = tmp_path / "ix"
    feed = Feed()
    web.routes["/feed.xml"] = feed.handler
    publish(web, feed, 1, "crane failure")
    follower(index_dir, [web.url("/feed.xml")]).poll_due()
    restarted = follower(index_dir, [web.url("/feed.xml")])
    assert restarted.poll_due()[0].not_modified  # remembered ETag: nothing fetched again
    (index_dir / "feeds.json").write_text("{not json", encoding="utf-8")
    fresh = follower(index_dir, [web.url("/feed.xml")]).poll_due()[0]
    assert fresh.new == [] and fresh.unchanged == 1  # state lost: the item's text is known, nothing added twice


def test_cli_follow_once_and_feed_settings(fake_env: Path, web: WebServer, capsys: pytest.CaptureFixture[str]) -> None:
    feed = Feed()
    web.routes["/feed.xml"] = feed.handler
    publish(web, feed, 1, "crane failure")
    assert run(["index", "follow", "--once", web.url("/feed.xml")]) == EXIT_OK
    assert count_articles(fake_env) == 1
    assert run(["index", "follow", "--once", "ftp://example.org/feed"]) == EXIT_ERROR
    assert "only http and https" in capsys.readouterr().err
    settings = Settings.from_env({"CITEBOT_FEEDS": "https://a.example/rss, https://b.example/atom https://a.example/rss",
                                  "CITEBOT_FEED_INTERVAL": "5"})
    assert settings.feeds == ("https://a.example/rss", "https://b.example/atom") and settings.feed_interval == 5.0
    with pytest.raises(ConfigError, match="CITEBOT_FEED_INTERVAL"):
        Settings.from_env({"CITEBOT_FEED_INTERVAL": "0"})


def test_parse_feed_accepts_atom_and_rejects_html(web: WebServer) -> None:
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            '<entry><id>tag:x,2026:1</id><title>a</title><link href="https://x.example/1"/>'
            '<updated>2026-04-02T00:00:00Z</updated></entry></feed>')
    title, entries = parse_feed("u", atom)
    assert title == "t" and entries[0]["link"] == "https://x.example/1"
    with pytest.raises(FetchError, match="not"):
        parse_feed("u", "<html><body><p>hello</p></body></html>")


def test_html_files_on_disk_use_the_same_extraction(tmp_path: Path) -> None:
    (tmp_path / "riga.html").write_text(sample_page("harbour_wire.html"), encoding="utf-8")
    articles, skipped = load([tmp_path])
    assert not skipped and articles[0].published == "2026-04-02"
    assert "31 container ships" in indexed_text(articles[0])


def test_running_slack_bot_answers_about_a_new_feed_item(fake, tmp_path: Path, web: WebServer) -> None:  # type: ignore[no-untyped-def]
    """`citebot serve` with CITEBOT_FEEDS, as a process: an item published after start is answered in Slack."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, SAMPLES
    from tests.slack_helpers import mention

    index_dir = tmp_path / "ix"
    write(index_dir, HashEmbedder(256), load([SAMPLES])[0], fresh=True)
    feed = Feed()
    web.routes["/feed.xml"] = feed.handler
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CITEBOT_"))}
    env.update(PYTHONPATH=str(ROOT), CITEBOT_INDEX_DIR=str(index_dir), CITEBOT_MODEL=FAKE_MODEL, CITEBOT_RERANKER="none",
               SLACK_BOT_TOKEN="xoxb-111-222-fakebottoken", SLACK_APP_TOKEN="xapp-1-A1-333-fakeapptoken",
               SLACK_API_URL=fake.api_url, CITEBOT_FEEDS=web.url("/feed.xml"), CITEBOT_FEED_INTERVAL="0.5")
    proc = subprocess.Popen([sys.executable, "-m", "citebot.bot.cli", "serve"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        fake.wait_for(fake.connected, timeout=60)
        web.page("/news/dredger", "<html><head><title>Dredger hits pier</title></head><body><article>"
                 "<p>The dredger Baltic Star hit the north pier of Liepaja harbour on Tuesday, the harbour master said.</p>"
                 "<p>Nobody was hurt, and the pier will reopen after an inspection next week.</p></article></body></html>")
        feed.add(Item("Dredger hits pier", web.url("/news/dredger"), "urn:harbour:dredger"))
        deadline = time.monotonic() + 30
        answered = ""
        n = 0
        while time.monotonic() < deadline and "Baltic Star" not in answered:
            n += 1
            before = len(fake.of("chat.postMessage"))
            body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                    "event_id": f"EvFeed{n}", "event_time": int(time.time()),
                    "event": mention("Which dredger hit the north pier?", ts=f"1700000800.{n:06d}")}
            fake.send_envelope("events_api", body)
            posts = fake.wait_calls("chat.postMessage", count=before + 1, timeout=15)
            answered = json.dumps(posts[-1].params, ensure_ascii=False)
            time.sleep(0.3)
        assert "Baltic Star" in answered and web.url("/news/dredger") in answered
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0]
    assert "following 1 feed(s)" in output and "1 new" in output
    assert "xoxb-111-222-fakebottoken" not in output


def test_a_feed_item_published_while_a_poll_writes_is_taken_by_the_next(tmp_path: Path, web: WebServer) -> None:
    index_dir, feed = index_and_feed(tmp_path, web, "/feed.xml")
    published: list[int] = []

    class PublishingDuringWrite(HashEmbedder):
        def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
            if not published:  # the first poll is embedding story 1 when story 2 appears
                publish(web, feed, 2, "dredger collision")
                published.append(2)
            return super().encode(texts, progress)

    poller = FeedFollower([web.url("/feed.xml")], index_dir, PublishingDuringWrite(256), interval=0.01,
                          fetcher=Fetcher(timeout=1, attempts=2, backoff=0.01))
    first = poller.poll(web.url("/feed.xml"))
    assert first.new == [web.url("/news/1")] and published
    second = poller.poll(web.url("/feed.xml"))
    assert second.new == [web.url("/news/2")] and not second.not_modified
    assert any("dredger collision" in a.text for a in service(index_dir).ask("dredger collision harbour master").answers)
