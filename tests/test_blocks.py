"""Block Kit builders, tested directly as pure functions."""

from __future__ import annotations

import json

from citebot.bot.answer import Answer, Citation, Result
from citebot.bot.slack.blocks import (
    MAX_BLOCKS,
    MAX_TEXT,
    MAX_VALUE,
    answer_blocks,
    escape,
    fallback_text,
    highlight,
    home_view,
    keywords,
)


def cite(n: int, url: str | None = "https://news.example/a", title: str | None = "Title") -> Citation:
    return Citation(f"art-{n}", title, "Outlet", url, "2026-03-12", f"/data/{n}.txt", n, 0, 10)


def result(texts: list[str], question: str = "Who co-chaired the session?", abstained: bool = False) -> Result:
    answers = [Answer(t, 0.5, [cite(i)]) for i, t in enumerate(texts)]
    return Result(question, abstained, 0.2 if abstained else 0.9, answers)


def all_text(blocks: list[dict]) -> str:  # type: ignore[type-arg]
    return json.dumps(blocks, ensure_ascii=False)


def test_escape_and_highlight_never_leave_raw_markup() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    out = highlight("The session <!here> was co-chaired by A & B.", "who co-chaired the session?")
    assert out == "The *session* &lt;!here&gt; was *co-chaired* by A &amp; B."
    assert keywords("Who is the and?") == []


def test_citations_numbered_per_article_with_links() -> None:
    r = Result("q words", False, 0.9, [
        Answer("First quote.", 0.9, [cite(1)]),
        Answer("Second quote.", 0.8, [cite(2, url=None, title=None), cite(1)], sources=2),
    ])
    blocks = answer_blocks(r)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sections[0].endswith("[1]") and "[2][1]" in sections[1] and "reported by 2 sources" in sections[1]
    refs = [b for b in blocks if b["type"] == "context"][-1]["elements"][0]["text"].split("\n")
    assert refs[0] == "[1] <https://news.example/a|Title> \u00b7 Outlet \u00b7 2026-03-12"
    assert refs[1] == "[2] *2.txt* \u00b7 Outlet \u00b7 2026-03-12"


def test_unsafe_urls_are_not_linked() -> None:
    for url in ("javascript:alert(1)", "https://x.example/<!channel>", "https://a.example|label"):
        text = all_text(answer_blocks(result(["Quote."]).__class__("q", False, 0.9, [Answer("Quote.", 0.9, [cite(1, url=url)])])))
        assert "<javascript" not in text and "<!channel>" not in text and "<https://a.example|" not in text


def test_abstention_note_and_fallback() -> None:
    r = result(["Nearest thing."], abstained=True)
    blocks = answer_blocks(r)
    assert "do not answer" in blocks[0]["text"]["text"] and "Closest matches" in blocks[0]["text"]["text"]
    assert fallback_text(r).startswith("The articles do not answer this question. Closest match:")
    empty = Result("q", True, 0.0, [])
    assert "do not answer" in all_text(answer_blocks(empty)) and fallback_text(empty)
    assert not [b for b in answer_blocks(empty) if b["type"] == "actions"]


def test_slack_limits_are_respected() -> None:
    long = "word " * 2000
    r = Result("q " + "x" * 5000, False, 0.9, [Answer(long, 0.5, [cite(i) for i in range(40)]) for _ in range(60)])
    blocks = answer_blocks(r, share=True, show_question=True)
    assert len(blocks) <= MAX_BLOCKS
    for b in blocks:
        for text in [b.get("text", {}).get("text")] + [e.get("text") for e in b.get("elements", []) if isinstance(e.get("text"), str)]:
            assert text is None or len(text) <= MAX_TEXT
        for e in b.get("elements", []):
            assert len(e.get("value", "")) <= MAX_VALUE
    assert len(fallback_text(r)) <= MAX_TEXT


def test_home_view() -> None:
    view = home_view({"articles": 5, "sentences": 61, "newest_article": "2025-08-07", "built_at": "2026-11-22T00:00:00+00:00",
                      "generation": 3, "model": "m"})
    text = all_text(view["blocks"])
    assert view["type"] == "home" and "*5* articles" in text and "*61* sentences" in text and "2025-08-07" in text
    assert "citebot index build" in all_text(home_view(None)["blocks"])
