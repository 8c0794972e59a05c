"""Questions limited to dates and outlets: the same filter inside both stores' searches, time phrases
in questions, the message when nothing is in scope, the CLI flags and a Slack thread."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_OK, run
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.articles import make_article
from citebot.index.store.base import Filter
from tests.conftest import FAKE_MODEL, Stores

# One evolving story over a week, from several outlets, and unrelated news around it.
STORY = [
    ("toll-0804", "Reuters", "2025-08-04", "The death toll from the Harbour Bridge collapse rose to 12, the fire service said."),
    ("toll-0806", "Press Trust of India", "2025-08-06", "The death toll from the Harbour Bridge collapse rose to 25, officials said."),
    ("toll-0807", "Reuters", "2025-08-07", "The death toll from the Harbour Bridge collapse rose to 31 on Thursday, officials said."),
    ("port-0720", "Baltic Ledger", "2025-07-20", "Dockworkers at the harbour voted to end their strike after three weeks."),
    ("ferry-0805", "Nordic Wire", "2025-08-05", "The harbour ferry timetable will change in September, the operator said."),
    ("bridge-0701", "Baltic Ledger", "2025-07-01", "Engineers warned that the Harbour Bridge needed urgent repairs to its cables."),
]
THU = date(2025, 8, 7)


def articles():  # type: ignore[no-untyped-def]
    return [make_article(text, None, id=i, source=src, published=day, title=f"{src} {day}") for i, src, day, text in STORY]


@pytest.fixture
def story(stores: Stores):  # type: ignore[no-untyped-def]
    store = stores.open()
    store.write(HashEmbedder(256), articles(), fresh=True)
    return stores.service(store)


def cited(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.article_id for a in result.answers for c in a.citations]


FILTERS = [
    Filter(since=date(2025, 8, 6)),
    Filter(until=date(2025, 7, 31)),
    Filter(sources=("Reuters",)),
    Filter(since=date(2025, 8, 4), until=date(2025, 8, 4)),
    Filter(since=date(2025, 8, 1), sources=("Baltic Ledger",)),  # nothing in scope
]


@pytest.mark.parametrize("where", FILTERS)
def test_a_filter_is_applied_inside_the_search_and_the_same_on_both_stores(tmp_path: Path, where: Filter) -> None:
    pytest.importorskip("milvus_lite")
    found = {}
    for kind in ("local", "milvus"):
        stores = Stores(kind, tmp_path / kind)
        try:
            store = stores.open()
            store.write(HashEmbedder(256), articles(), fresh=True)
            reader = store.reader()
            q = HashEmbedder(256).encode(["harbour bridge death toll"])
            dense = [int(i) for i in reader.dense_sentences(q, 50, where)[0]]
            kw = sorted(reader.keyword_sentences(["harbour", "bridge", "toll"], 50, where))
            arts = [int(i) for i in reader.dense_articles(q, 50, where)[0]]
            allowed = reader.allowed_articles(where)
            keep = {h.article_id for h in reader.hits([(i, 1.0) for i in dense + kw])}
            found[kind] = (sorted(dense), kw, sorted(arts), sorted(keep), [int(a) for a in allowed] if allowed is not None else None)
            reader.close()
        finally:
            stores.close()
    assert found["local"] == found["milvus"]
    allowed_ids = {i for i, src, day, _ in STORY if (where.since is None or day >= where.since.isoformat())
                   and (where.until is None or day <= where.until.isoformat()) and (not where.sources or src in where.sources)}
    assert set(found["local"][3]) <= allowed_ids and (set(found["local"][3]) == allowed_ids or not allowed_ids)


def test_time_phrases_and_outlets_in_the_question_limit_the_answer(story) -> None:  # type: ignore[no-untyped-def]
    week = story.ask("What is the death toll from the bridge collapse this week?", as_of=THU)
    assert week.filters and week.filters["since"] == "2025-08-04" and week.filters["until"] == "2025-08-07"
    assert week.filters["label"] == "since Mon 4 Aug 2025" and week.filters["phrase"] == "this week"
    assert set(cited(week)) <= {"toll-0804", "toll-0806", "toll-0807", "ferry-0805"} and "toll-0807" in cited(week)
    reuters = story.answerer().ask("What did Reuters report about the bridge death toll?", as_of=THU)
    assert reuters.filters and reuters.filters["sources"] == ["Reuters"]
    assert set(cited(reuters)) == {"toll-0804", "toll-0807"}
    token = story.answerer().ask("bridge death toll since:2025-08-06 source:pti", as_of=THU)
    assert token.filters and token.filters["sources"] == ["Press Trust of India"] and cited(token) == ["toll-0806"]
    unfiltered = story.answerer().ask("What did engineers warn about the bridge cables?", as_of=THU)
    assert unfiltered.filters is None and "bridge-0701" in cited(unfiltered)  # an old article that alone answers still answers


def test_a_filter_that_matches_nothing_says_so(story) -> None:  # type: ignore[no-untyped-def]
    answerer = story.answerer()
    none_today = answerer.ask("What is the bridge death toll today?", as_of=date(2025, 8, 20))
    assert none_today.abstained and not none_today.answers
    assert none_today.notice == "No articles on Wed 20 Aug 2025 in the index (it holds articles from 1 Jul 2025 to 7 Aug 2025)."
    unknown = answerer.ask("What is the bridge death toll?", sources=["Le Monde"])
    assert unknown.abstained and unknown.notice and unknown.notice.startswith("No articles from Le Monde in the index (its outlets:")
    assert "Reuters" in unknown.notice and "do not answer" not in unknown.no_answer()


def test_cli_flags_and_json_filters(fake_env: Path, tmp_path: Path) -> None:
    data = tmp_path / "story.jsonl"
    data.write_text("".join(json.dumps({"id": i, "source": src, "published": day, "title": f"{src} {day}", "text": text}) + "\n"
                            for i, src, day, text in STORY), encoding="utf-8")
    assert run(["index", "build", str(data)], out=io.StringIO()) == EXIT_OK
    out = io.StringIO()
    assert run(["ask", "--json", "--source", "reuters", "--until", "2025-08-05", "bridge death toll"], out=out) == EXIT_OK
    result = json.loads(out.getvalue())
    assert result["filters"]["sources"] == ["Reuters"] and result["filters"]["until"] == "2025-08-05"
    assert {c["article_id"] for a in result["answers"] for c in a["citations"]} == {"toll-0804"}
    out = io.StringIO()
    assert run(["ask", "--as-of", "2025-08-07", "What happened to the bridge death toll yesterday?"], out=out) == EXIT_OK
    assert "(articles on Wed 6 Aug 2025)" in out.getvalue() and "rose to 25" in out.getvalue()
    out = io.StringIO()
    assert run(["ask", "--since", "2025-09-01", "bridge death toll"], out=out) == EXIT_OK
    assert "No articles since Mon 1 Sep 2025 in the index" in out.getvalue()


def test_a_slack_thread_question_reads_this_week_against_the_message_date(tmp_path: Path) -> None:
    from citebot.bot.slack.listeners import Responder, day_of
    from citebot.bot.slack.state import BotState
    from tests.conftest import Stores as _Stores

    stores = _Stores("local", tmp_path)
    store = stores.open()
    store.write(HashEmbedder(256), articles(), fresh=True)
    service = stores.service(store)
    responder = Responder(service, BotState(tmp_path / "state"), service.settings)
    assert day_of("1754550000.000100") == date(2025, 8, 7)
    blocks, fallback = responder.message_for("death toll from the bridge collapse this week?", "1754550000.000100")
    text = json.dumps(blocks)
    assert "Articles since Mon 4 Aug 2025" in text and "rose to 31" in text
    assert FAKE_MODEL


def test_literal_questions_take_no_filter_from_their_words(story) -> None:  # type: ignore[no-untyped-def]
    literal = story.answerer().ask("What was the bridge collapse death toll yesterday?", as_of=THU, literal=True)
    assert literal.filters is None  # searched as written, nothing filtered: every day's report can answer
    assert {"toll-0804", "toll-0806", "toll-0807"} <= set(cited(literal))
    scoped = story.answerer().ask("What was the bridge collapse death toll yesterday?", as_of=THU)
    assert scoped.filters is not None and cited(scoped) == ["toll-0806"]
    both = story.answerer().ask("bridge death toll this week", as_of=THU, literal=True, sources=["Reuters"])
    assert both.filters is not None and both.filters["phrase"] is None and set(cited(both)) <= {"toll-0804", "toll-0807"}


def test_outlets_are_named_as_names_and_matched_as_the_index_holds_them() -> None:
    from citebot.bot.scope import match_outlets, named_outlet

    outlets = ["Reuters", "THE WEEK", "Baltic Ledger", "Press Trust of India"]
    assert named_outlet("What happened in the week before the vote?", outlets) == (None, "What happened in the week before the vote?")
    assert named_outlet("What did The Week say about the vote?", outlets) == ("THE WEEK", "What did The Week say about the vote?")
    assert named_outlet("What was the toll according to the Baltic Ledger?", outlets) == ("Baltic Ledger", "What was the toll?")
    assert match_outlets(["pti", "ledger", "baltic ledger", "REUTERS"], outlets) == (
        ("Press Trust of India", "Baltic Ledger", "Reuters"), ("ledger",))


def test_a_figure_that_changed_is_shown_newest_first_with_its_history(story) -> None:  # type: ignore[no-untyped-def]
    from citebot.bot.render_text import render

    result = story.answerer().ask("What is the death toll from the Harbour Bridge collapse?", as_of=THU)
    assert [e["value"] for e in result.timeline] == ["31", "25", "12"]  # newest first
    assert [e["source"] for e in result.timeline] == ["Reuters", "Press Trust of India", "Reuters"]
    assert "31" in result.answers[0].text and result.answers[0].as_of == "as of 7 Aug 2025 (Reuters)"
    assert result.conflict == []  # one value a day
    text = render(result)
    assert "Reported values, newest first: 31 (Reuters, 7 Aug 2025); 25 (Press Trust of India, 6 Aug 2025)" in " ".join(text.split())


def test_sources_of_the_same_day_that_disagree_are_flagged(stores: Stores) -> None:
    store = stores.open()
    same_day = articles() + [make_article("The death toll from the Harbour Bridge collapse rose to 27, officials said.", None,
                                          id="toll-0806-ani", source="Asian News International", published="2025-08-06")]
    store.write(HashEmbedder(256), same_day, fresh=True)
    result = stores.service(store).answerer().ask("What is the death toll from the Harbour Bridge collapse?", as_of=THU)
    assert result.conflict and result.conflict[0]["published"] == "2025-08-06"
    assert set(result.conflict[0]["values"]) == {"25", "27"}  # type: ignore[arg-type]


def test_an_old_article_that_alone_answers_keeps_its_place(story) -> None:  # type: ignore[no-untyped-def]
    result = story.answerer().ask("What did engineers warn about the Harbour Bridge cables?", as_of=THU)
    assert result.answers[0].citations[0].article_id == "bridge-0701" and not result.timeline


def test_a_date_the_answers_do_not_match_is_said(sample_index: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from citebot.bot.answer import Answerer
    from citebot.bot.render_text import render
    from citebot.index.store.local.reader import IndexReader

    answerer = Answerer(IndexReader.open(sample_index), embedder)
    march_2025 = answerer.ask("What did Estonia and Norway agree at their March 2025 meeting?")
    assert march_2025.caution is not None
    assert march_2025.caution.startswith("The answers do not mention March 2025; their articles are dated")
    assert "Mar 2026" in march_2025.caution and march_2025.caution in " ".join(render(march_2025).split())
    march_2026 = answerer.ask("What did Estonia and Norway agree at their March 2026 meeting?")
    assert march_2026.caution is None  # the articles' dates match
    undated = answerer.ask("What did Estonia and Norway agree about the cable?")
    assert undated.caution is None  # no date asked about


def test_who_holds_an_office_now_is_answered_from_the_newest_report(stores: Stores) -> None:
    store = stores.open()
    store.write(HashEmbedder(256), [
        make_article("Anna Berg is the chief executive of Harbour Lines, the company said.", None, id="ceo-1",
                     source="Nordic Wire", published="2025-01-20"),
        make_article("Lars Holm is the chief executive of Harbour Lines, the company said.", None, id="ceo-2",
                     source="Reuters", published="2025-05-20"),
    ], fresh=True)
    now = stores.service(store).answerer().ask("Who is the current chief executive of Harbour Lines?", as_of=date(2025, 6, 1))
    assert "Lars Holm" in now.answers[0].text and now.answers[0].as_of == "as of 20 May 2025 (Reuters)"
    assert [e["value"] for e in now.timeline] == ["Lars Holm", "Anna Berg"]
    then = stores.service(store).answerer().ask("Who was the chief executive of Harbour Lines?", as_of=date(2025, 6, 1))
    assert then.answers[0].as_of is None  # not asked about the present: the ranking stands


def test_bad_dates_get_a_clear_message(fake_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import SAMPLES

    assert run(["index", "build", str(SAMPLES)], out=io.StringIO()) == EXIT_OK
    out = io.StringIO()
    assert run(["ask", "--json", "who co-chaired? since:2025-13-01"], out=out) == 1
    assert json.loads(out.getvalue())["error"] == "since: '2025-13-01' is not a date: give it as YYYY-MM-DD"
    with pytest.raises(SystemExit) as usage:
        run(["ask", "--since", "last tuesday", "who co-chaired?"])
    assert usage.value.code == 2 and "expected a date as YYYY-MM-DD" in capsys.readouterr().err
    monkeypatch.setenv("CITEBOT_AS_OF", "07/08/2025")
    assert run(["ask", "who co-chaired?"], out=io.StringIO()) == 1
    assert "CITEBOT_AS_OF must be a date as YYYY-MM-DD" in capsys.readouterr().err
