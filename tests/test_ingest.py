"""Reading articles from every supported format, and reporting what cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

from citebot.index.ingest.files import load
from tests.conftest import SAMPLES


def by_path(articles):  # type: ignore[no-untyped-def]
    return {Path(a.path).name: a for a in articles}


def test_samples_all_formats_and_metadata() -> None:
    articles, skipped = load([SAMPLES])
    assert skipped == []
    got = by_path(articles)
    assert {Path(p).suffix for p in got} == {".txt", ".html", ".md", ".json", ".jsonl"}
    wire = got["001_tallinn_wire.txt"]
    assert wire.published == "2026-03-12" and wire.title is None
    ledger = got["002_baltic_ledger.txt"]
    assert ledger.title == "Estonia, Norway sign protocol on offshore wind and grid cable"
    assert ledger.source == "Baltic Ledger" and ledger.published == "2026-03-12"
    html = got["003_energy_desk.html"]
    assert (html.title, html.source, html.published) == (
        "Tallinn talks put a price on Baltic offshore wind", "Energy Desk", "2026-03-13")
    assert html.url == "https://energydesk.example/2026/03/13/tallinn-baltic-wind"
    assert "dataLayer" not in html.body and "Subscribe" not in html.body
    md = got["004_ministry_release.md"]
    assert md.source == "Ministry of Climate (Estonia)" and md.url.startswith("https://climate.example.ee")
    assert "**" not in md.body and "](" not in md.body
    strike = got["005_port_strike.json"]
    assert strike.id == "port-aalborg-strike-2026-03" and strike.published == "2026-03-10"
    assert sum(1 for a in articles if a.path.endswith(".jsonl")) == 2


def test_ids_derived_from_content_are_stable(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The council met on Monday and voted.\n", encoding="utf-8")
    first, _ = load([tmp_path])
    (tmp_path / "a.txt").write_text("The council met on Monday and voted.\n", encoding="utf-8")
    again, _ = load([tmp_path])
    assert first[0].id == again[0].id
    (tmp_path / "a.txt").write_text("The council met on Tuesday and voted.\n", encoding="utf-8")
    changed, _ = load([tmp_path])
    assert changed[0].id != first[0].id


def test_bad_files_are_reported_and_others_still_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("The mayor opened the new bridge on Friday.", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 owners protested the tax.".encode("latin-1"))
    (tmp_path / "empty.md").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "broken.json").write_text('{"text": "unterminated', encoding="utf-8")
    (tmp_path / "notext.json").write_text(json.dumps({"title": "No body"}), encoding="utf-8")
    (tmp_path / "list.json").write_text(json.dumps([
        {"id": "x1", "text": "The first listed article says the port reopened."},
        "not an object",
        {"id": "x3", "text": ""},
    ]), encoding="utf-8")
    (tmp_path / "lines.jsonl").write_text(
        '{"text": "Line one reports the strike ended on Tuesday."}\n{oops\n\n[1, 2]\n', encoding="utf-8")
    (tmp_path / "headings.txt").write_text("Just A Heading\nAnother Heading\n", encoding="utf-8")
    (tmp_path / "slides.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / ".hidden.txt").write_text("Hidden files are ignored entirely here.", encoding="utf-8")
    articles, skipped = load([tmp_path, tmp_path / "missing.txt"])
    assert sorted(Path(a.path).name for a in articles) == ["good.txt", "lines.jsonl", "list.json"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "binary" in reasons["binary.txt"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    assert "malformed JSON" in reasons["broken.json"]
    assert '"text"' in reasons["notext.json"]
    assert "expected a JSON object" in reasons["list.json#1"]
    assert '"text"' in reasons["list.json#2"]
    assert "malformed JSON" in reasons["lines.jsonl:2"]
    assert "expected a JSON object" in reasons["lines.jsonl:4"]
    assert "no article prose" in reasons["headings.txt"]
    assert "unsupported file type .pdf" in reasons["slides.pdf"]
    assert "no such file" in reasons["missing.txt"]
    assert ".hidden.txt" not in reasons


def test_duplicates_are_reported_once(tmp_path: Path) -> None:
    text = "The harbour reopened after the storm on Sunday."
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_text(text, encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "same", "text": "One story about trains."}) + "\n"
        + json.dumps({"id": "same", "text": "Another story about buses."}) + "\n", encoding="utf-8")
    articles, skipped = load([tmp_path])
    assert len(articles) == 2
    reasons = sorted(s.reason for s in skipped)
    assert reasons[0].startswith("duplicate article id 'same'") and reasons[1].startswith("same text as")


def test_huge_article_is_refused_at_the_configured_limit(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from citebot.bot.cli import run
    from citebot.index.ingest.articles import set_max_article_chars
    from citebot.index.records import MAX_ARTICLE_CHARS

    (tmp_path / "big.txt").write_text("A long sentence about the budget. " * 100, encoding="utf-8")
    try:
        set_max_article_chars(1000)
        articles, skipped = load([tmp_path])
        assert articles == [] and "too long" in skipped[0].reason and "CITEBOT_MAX_ARTICLE_CHARS" in skipped[0].reason
        set_max_article_chars(10_000)
        assert len(load([tmp_path])[0]) == 1
        monkeypatch.setenv("CITEBOT_MODEL", "fake:hash-64")
        monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "ix"))
        monkeypatch.setenv("CITEBOT_MAX_ARTICLE_CHARS", "500")  # the setting reaches the CLI's reading
        assert run(["index", "build", str(tmp_path / "big.txt")], out=io.StringIO()) == 1
    finally:
        set_max_article_chars(MAX_ARTICLE_CHARS)
