"""Relative dates in a quote, resolved against its article's date for the reader.

News copy says "on Wednesday", "earlier in the day" or "yesterday"; a reader weeks later needs
the date. Renderers show "Wednesday (6 Aug 2025)"; the quote itself, its offsets and the JSON
answer are never changed. A weekday means the latest such day on or before the article's date,
or the next one when the words just before it speak of the future ("will", "next", "due").
"""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
RELATIVE = re.compile(
    r"\b(?P<weekday>" + "|".join(WEEKDAYS) + r")\b"
    r"|\b(?P<day>earlier (?:in the|that) day|later (?:in the|that) day|this (?:morning|afternoon|evening)|today|tonight"
    r"|yesterday|tomorrow)\b",
    re.IGNORECASE,
)
ALREADY_DATED = re.compile(r"\s*(?:\(|,?\s*(?:\d|(?:" + MONTHS + r")[a-z]*\b))", re.IGNORECASE)
FUTURE = re.compile(r"\b(will|next|due|planned|scheduled|expected|to be held|until)\b[^.;]{0,25}$", re.IGNORECASE)
SHIFT = {"yesterday": -1, "tomorrow": 1}


def _published(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def label(day: date) -> str:
    return f"{day.day} {day.strftime('%b')} {day.year}"


def resolve(text: str, published: str | None) -> list[tuple[int, date]]:
    """(end offset of the expression, the date it stands for) for each relative date in ``text``."""
    base = _published(published)
    if base is None:
        return []
    found = []
    for m in RELATIVE.finditer(text):
        if ALREADY_DATED.match(text, m.end()):
            continue
        if m.group("weekday"):
            target = WEEKDAYS.index(m.group("weekday").lower())
            if FUTURE.search(text[max(0, m.start() - 40): m.start()]):
                delta = (target - base.weekday()) % 7 or 7
            else:
                delta = -((base.weekday() - target) % 7)
            found.append((m.end(), base + timedelta(days=delta)))
        else:
            found.append((m.end(), base + timedelta(days=SHIFT.get(m.group("day").lower(), 0))))
    return found


def annotate(text: str, published: str | None) -> str:
    """``text`` with " (6 Aug 2025)" after each relative date the article's date resolves."""
    out, pos = [], 0
    for end, day in resolve(text, published):
        out.append(text[pos:end])
        out.append(f" ({label(day)})")
        pos = end
    out.append(text[pos:])
    return "".join(out)
