"""How a reported figure changed across dated sources, and where sources of the same day disagree.

Answers are groups of sentences that state the same fact (bot/answer.py: same figures, close in
meaning). Two answers state the same fact with different values when their sentences are very close
in meaning but give other figures ("the toll rose to 25" / "the toll rose to 31"). Such answers form
a timeline, newest first, each value with its outlet and date; two of them dated the same day from
different outlets are a conflict. When a timeline exists, or the question asks about the present
("latest", "current", "now", "still", "so far"), the newest of the related answers is put first and
reads "as of <date> (<outlet>)". An answer with no related answer keeps its place: an old article
that alone answers still answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np

NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
SAME_FACT_COSINE = 0.75  # lead sentences this close in meaning, with other figures, report one fact's values
SAME_WORDS = 0.6  # or this share of their words in common once the values are left out (the same sentence, other values)
WORDS = re.compile(r"[a-z]+")
PRESENT = re.compile(r"\b(?:latest|current(?:ly)?|now|still|so far|to date|most recent|as of|at present|presently|today)\b", re.I)


@dataclass(frozen=True)
class Entry:
    answer: int  # the answer's position (before any reordering)
    value: str  # the figures that set it apart from the other entries ("31")
    published: str  # ISO date
    source: str | None
    text: str


NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def _values(text: str, names: bool) -> list[str]:
    """The figures a sentence states; with ``names``, the names it gives when it states no figure (an office
    that changed hands)."""
    figures = [n.replace(",", "") for n in NUMBER.findall(text)]
    return figures or ([m.group(0) for m in NAME.finditer(text)] if names else [])


def _same_words(a: str, a_values: set[str], b: str, b_values: set[str]) -> float:
    """Jaccard of two sentences' words once their values are left out: the same report with other values."""
    def words(text: str, values: set[str]) -> set[str]:
        for v in values:
            text = text.replace(v, " ")
        return set(WORDS.findall(text.lower()))

    wa, wb = words(a, a_values), words(b, b_values)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def _dated(citations: list[tuple[str | None, str | None]]) -> tuple[str, str | None] | None:
    """The newest (published, source) among an answer's citations, None when none is dated."""
    dated = [(p[:10], s) for p, s in citations if p]
    return max(dated, key=lambda d: d[0]) if dated else None


def build(texts: list[str], vectors: np.ndarray, citations: list[list[tuple[str | None, str | None]]],
          present: bool = False) -> list[Entry]:
    """The timeline of the first answer's fact, newest first: the answers related to it (the first one
    included) that are dated and give other figures (or, for a question about the present, other names).
    Empty when the first answer has no such relative. ``texts``, ``vectors`` (unit length) and ``citations``
    ((published, source) each) are the answers', in rank order."""
    if len(texts) < 2:
        return []
    values = [set(_values(t, present)) for t in texts]
    if not values[0]:
        return []
    similar = vectors @ vectors[0]
    related = [i for i in range(len(texts)) if i == 0 or (values[i] not in (set(), values[0]) and (
        similar[i] >= SAME_FACT_COSINE or _same_words(texts[0], values[0], texts[i], values[i]) >= SAME_WORDS))]
    dated = [(i, texts[i], *(_dated(citations[i]) or (None, None))) for i in related]
    return _entries(dated, present)


def build_from_citations(cited: list[tuple[str, str | None, str | None]]) -> list[Entry]:
    """A timeline from one answer's citations ((sentence, published, source) each) when they give other
    names or figures on other dates; newest first, empty otherwise."""
    entries = _entries([(n, text, published, source) for n, (text, published, source) in enumerate(cited)], True)
    return entries if len({e.published for e in entries}) > 1 else []


def _entries(items: list[tuple[int, str, str | None, str | None]], names: bool) -> list[Entry]:
    """Entries of (position, text, published, source) items that are dated and state a value the others do
    not all share; newest first. Empty unless at least two values remain."""
    values = [set(_values(text, names)) for _, text, _, _ in items]
    if len(items) < 2 or not all(values):
        return []
    shared = set.intersection(*values)
    entries = []
    for n, text, published, source in items:
        value = ", ".join(dict.fromkeys(v for v in _values(text, names) if v not in shared))
        if published and value:
            entries.append(Entry(n, value, published[:10], source, text))
    if len({e.value for e in entries}) < 2:
        return []
    return sorted(entries, key=lambda e: (e.published, -e.answer), reverse=True)


def as_dicts(entries: list[Entry]) -> list[dict[str, object]]:
    """The timeline as JSON gives it."""
    return [{"value": e.value, "published": e.published, "source": e.source, "text": e.text} for e in entries]


def conflicts(entries: list[Entry]) -> list[dict[str, object]]:
    """Same-day entries from different outlets that give different values."""
    by_day: dict[str, list[Entry]] = {}
    for e in entries:
        by_day.setdefault(e.published, []).append(e)
    out: list[dict[str, object]] = []
    for day, same in sorted(by_day.items(), reverse=True):
        if len({e.value for e in same}) > 1 and len({e.source for e in same}) > 1:
            out.append({"published": day, "values": [e.value for e in same], "sources": [e.source for e in same]})
    return out


def newest_first(order: list[int], entries: list[Entry]) -> list[int]:
    """The answers' order with the newest timeline entry moved to the place of the best-ranked one (when a
    timeline exists, or the question asks about the present)."""
    if not entries:
        return order
    newest = entries[0].answer
    first_related = min(e.answer for e in entries)
    if newest == first_related:
        return order
    moved = [i for i in order if i != newest]
    moved.insert(moved.index(first_related), newest)
    return moved


def as_of_label(entry: Entry) -> str:
    day = date.fromisoformat(entry.published)
    return f"as of {day.day} {day:%b %Y}" + (f" ({entry.source})" if entry.source else "")


def asks_about_now(question: str) -> bool:
    return bool(PRESENT.search(question))


YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
MONTH_YEAR = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\s+"
                        r"(1[5-9]\d\d|20\d\d)\b")


def date_caution(question: str, answers: list[tuple[str, list[str | None]]]) -> str | None:
    """When the question names a year (or a month of a year) that neither the top answers' text (the
    sentence and its neighbours) nor their articles' dates match, a line saying so and which dates the
    answers' articles have: "The answers do not mention March 2025; their articles are dated 12 Mar
    2026." ``answers``: (text around the answer, its citations' ISO dates) of the top answers."""
    named = [f"{m.group(1)} {m.group(2)}" for m in MONTH_YEAR.finditer(question)] or YEAR.findall(question)
    if not named or not answers:
        return None
    for text, published in answers:
        for name in named:
            year = name[-4:]
            if name in text or (name == year and year in text) or any(p and p.startswith(year) and (name == year or
                                                                       date.fromisoformat(p[:10]).strftime("%B %Y") == name)
                                                                       for p in published):
                return None
    dates = sorted({p[:10] for _, published in answers for p in published if p})
    held = ("; their articles are dated " + ", ".join(f"{date.fromisoformat(d).day} {date.fromisoformat(d):%b %Y}" for d in dates[:4])
            + (" and later" if len(dates) > 4 else "")) if dates else ""
    return f"The answers do not mention {' or '.join(dict.fromkeys(named))}{held}."
