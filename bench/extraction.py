"""Main-text extraction on saved real news pages: citebot beside trafilatura alone.

    .venv/bin/python -m bench.extraction [--pages ../shared/extraction] [--verbose]

For each page of ``expected.json`` (snippets that belong to the main text, ``with``, and
boilerplate that must not be extracted, ``without``), prints the share of main-text snippets
kept and of boilerplate snippets left out, pages with no text, and pages without a title or a
date. Text is compared after folding whitespace and case. For citebot, the text scored is what
it indexes and can cite (the prose spans of the article), not the whole stored body.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpora import SHARED

Extractor = Callable[[str, str | None], tuple[str, str | None, str | None]]  # (text, title, date)


def fold(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Score:
    kept: int = 0
    wanted: int = 0
    left_out: int = 0
    unwanted: int = 0
    empty: list[str] = field(default_factory=list)
    no_title: list[str] = field(default_factory=list)
    no_date: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def row(self, name: str, pages: int) -> str:
        return (f"{name:<12} {self.kept / self.wanted:>9.3f} {self.left_out / self.unwanted:>12.3f} "
                f"{len(self.empty):>6} {len(self.no_title):>9} {len(self.no_date):>8} {1000 * self.seconds / pages:>9.0f}")


def citebot(page: str, url: str | None) -> tuple[str, str | None, str | None]:
    from citebot.index.ingest.articles import UnreadableError
    from citebot.index.ingest.html import page_article

    try:
        article = page_article(page, None, url=url)
    except UnreadableError:
        return "", None, None
    return "\n".join(article.body[s:e] for s, e in article.content_spans), article.title, article.published


def trafilatura_alone(page: str, url: str | None) -> tuple[str, str | None, str | None]:
    import trafilatura

    doc = trafilatura.bare_extraction(page, url=url, with_metadata=True)
    return (doc.text or "", doc.title, doc.date) if doc is not None else ("", None, None)


def score(extract: Extractor, root: Path, expected: dict) -> Score:
    result = Score()
    first = next(iter(expected))
    extract((root / "pages" / first).read_text(encoding="utf-8", errors="replace"), None)  # imports, caches: not timed
    started = time.perf_counter()
    for name, want in expected.items():
        page = (root / "pages" / name).read_text(encoding="utf-8", errors="replace")
        text, title, date = extract(page, want.get("url"))
        folded = fold(text)
        if not folded:
            result.empty.append(name)
        if not title:
            result.no_title.append(name)
        if not date:
            result.no_date.append(name)
        for snippet in want.get("with", []):
            hit = fold(snippet) in folded
            result.kept += hit
            result.misses += [] if hit else [f"{name}: missing {snippet!r}"]
        for snippet in want.get("without", []):
            clean = fold(snippet) not in folded
            result.left_out += clean
            result.misses += [] if clean else [f"{name}: let through {snippet!r}"]
        result.wanted += len(want.get("with", []))
        result.unwanted += len(want.get("without", []))
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=Path, default=SHARED / "extraction")
    ap.add_argument("--verbose", action="store_true", help="list every snippet missed or let through")
    args = ap.parse_args()
    expected_path = args.pages / "expected.json"
    if not expected_path.is_file():
        raise SystemExit(f"{expected_path} is not present (the saved pages live beside the repository, not in it)")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    print(f"{len(expected)} pages from {args.pages}")
    print(f"{'extractor':<12} {'main text':>9} {'boilerplate':>12} {'empty':>6} {'no title':>9} {'no date':>8} {'ms/page':>9}")
    print(f"{'':<12} {'kept':>9} {'left out':>12}")
    for name, extract in (("trafilatura", trafilatura_alone), ("citebot", citebot)):
        result = score(extract, args.pages, expected)
        print(result.row(name, len(expected)))
        if args.verbose:
            for line in result.misses + [f"{p}: empty" for p in result.empty] + [f"{p}: no date" for p in result.no_date]:
                print(f"    {line}")


if __name__ == "__main__":
    main()
