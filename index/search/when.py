"""Time phrases in a question, resolved against a reference date into a range of publication dates.

"What did the ministry say this week?" asked on Thursday 7 August 2025 means articles published
from Monday 4 to Thursday 7 August 2025. The phrases understood: today, yesterday, this/last week,
this/last month, this/last year, in the past (last) N days/weeks/months, since <weekday | date>,
on <weekday | date>, in <month>. A month or a date without a year is the latest one not after the
reference date ("in August" asked in January is last year's August). Weeks start on Monday. The
phrase found is cut out of the question, so that the text embedded and searched is what the
question asks about, not when.

A date with its year ("in 2019", "in March 2025", "on 6 August 2024", "their March 2025 meeting") is
not taken for a range of publication dates: questions name years for when something happened
("How much did emissions fall in 2019?", usually reported later), so it is a fact the answer must
match, and it stays in the question.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
WEEKDAYS = {name.lower(): n for n, name in enumerate(calendar.day_name)}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "a": 1, "an": 1, "few": 3, "couple of": 2}
UNITS = {"day": 1, "week": 7, "fortnight": 14}

MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
WEEKDAY = r"(?P<weekday>" + "|".join(WEEKDAYS) + r")"
DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
YEAR = r"(?P<year>\d{3,4})"
COUNT = r"(?P<count>\d{1,3}|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"
# Each pattern matches a whole phrase; "the" and a leading preposition are part of it so that cutting it
# leaves a clean question.
UNIT = r"(?P<unit>day|week|fortnight|month|year)"
ON_DATE = (r"(?:" + DAY + r"\s+(?:of\s+)?" + MONTH + r"|" + MONTH.replace("month", "month2") + r"\s+" + DAY.replace("day", "day2")
           + r")(?:,?\s+" + YEAR + r")?")
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("past", re.compile(r"\b(?:in|over|during|within|for)?\s*the\s+(?:past|last)\s+" + COUNT + r"\s+" + UNIT + r"s?\b", re.I)),
    ("past", re.compile(r"\b(?:in|over|during|within)\s+the\s+(?:past|last)\s+" + UNIT + r"\b", re.I)),
    # "today" in lower case (or opening the question): "Today" inside a question is a name (a programme, a paper)
    ("today", re.compile(r"\b(?:so far\s+)?(?:today|Today(?<=^Today)|TODAY)\b(?!'s|\u2019s)"
                         r"|\bthis (?:morning|afternoon|evening)\b|\btonight\b")),
    ("yesterday", re.compile(r"\byesterday\b|\blast night\b", re.I)),
    ("this", re.compile(r"\b(?:earlier\s+)?this\s+(?P<unit>week|month|year)\b|\bso far this (?P<unit2>week|month|year)\b", re.I)),
    ("last", re.compile(r"\blast\s+(?P<unit>week|month|year)\b", re.I)),
    ("since_date", re.compile(r"\bsince\s+" + ON_DATE + r"\b", re.I)),
    ("since_weekday", re.compile(r"\bsince\s+(?:last\s+)?" + WEEKDAY + r"\b", re.I)),
    ("on_date", re.compile(r"\bon\s+(?:" + WEEKDAY.replace("weekday", "wd") + r",?\s+)?(?:the\s+)?" + ON_DATE + r"\b", re.I)),
    ("on_weekday", re.compile(r"\bon\s+(?:last\s+)?" + WEEKDAY + r"\b(?!s|\s+(?:mornings|afternoons|evenings|nights))", re.I)),
    ("in_month", re.compile(r"\b(?:in|during)\s+(?:early\s+|late\s+|mid-?)?" + MONTH + r"(?:\s+(?:of\s+)?" + YEAR + r")?\b(?!\s+\d)",
                            re.I)),
]


# A date followed by one of these describes an event ("in its March 2025 session"), not when articles appeared.
EVENT_AFTER = re.compile(r"\s+(?:[a-z]+\s+)?(?:meeting|session|summit|election|elections|talks|visit|agreement|deal|report|budget"
                         r"|census)\b", re.I)


@dataclass(frozen=True)
class DateRange:
    since: date
    until: date
    phrase: str  # as written in the question
    up_to_now: bool = False  # "since Monday", "this week", "in the past 3 days": up to the reference date

    def label(self) -> str:
        """"since Mon 4 Aug 2025", "on Wed 6 Aug 2025", "1-31 Aug 2025", "4 Aug - 7 Sep 2025"."""
        if self.up_to_now and self.since != self.until:
            return "since " + day_label(self.since)
        if self.since == self.until:
            return "on " + day_label(self.since)
        if self.since.year != self.until.year:
            return f"{day_label(self.since, weekday=False)} - {day_label(self.until, weekday=False)}"
        if self.since.month != self.until.month:
            return f"{self.since.day} {self.since:%b} - {self.until.day} {self.until:%b %Y}"
        return f"{self.since.day}-{self.until.day} {self.until:%b %Y}"


def day_label(d: date, weekday: bool = True) -> str:
    """'Mon 4 Aug 2025' (or '4 Aug 2025')."""
    return (f"{d:%a} " if weekday else "") + f"{d.day} {d:%b %Y}"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBERS[text.lower()]


def _latest(month: int, day: int, as_of: date) -> date | None:
    """The latest date with that month and day not after ``as_of``."""
    for year in (as_of.year, as_of.year - 1, as_of.year - 2):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= as_of:
            return candidate
    return None


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _resolve(kind: str, m: re.Match[str], as_of: date) -> tuple[date, date] | None:
    g = {k: v for k, v in m.groupdict().items() if v}
    if kind == "today":
        return as_of, as_of
    if kind == "yesterday":
        return as_of - timedelta(days=1), as_of - timedelta(days=1)
    if kind in ("this", "last"):
        unit = (g.get("unit") or g.get("unit2") or "").lower()
        if unit == "week":
            monday = as_of - timedelta(days=as_of.weekday())
            return (monday, as_of) if kind == "this" else (monday - timedelta(days=7), monday - timedelta(days=1))
        if unit == "month":
            if kind == "this":
                return as_of.replace(day=1), as_of
            last = as_of.replace(day=1) - timedelta(days=1)
            return _month_range(last.year, last.month)
        if kind == "this":
            return date(as_of.year, 1, 1), as_of
        return date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)
    if kind == "past":
        unit = g["unit"].lower()
        count = _number(g["count"]) if "count" in g else 1
        if unit == "month":
            month = as_of.month - count
            year = as_of.year + (month - 1) // 12
            month = (month - 1) % 12 + 1
            start = date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))
            return start, as_of
        if unit == "year":
            return date(as_of.year - count, as_of.month, min(as_of.day, 28 if as_of.month == 2 else as_of.day)), as_of
        return as_of - timedelta(days=count * UNITS[unit] - 1), as_of
    if kind in ("since_weekday", "on_weekday"):
        back = (as_of.weekday() - WEEKDAYS[g["weekday"].lower()]) % 7
        if kind == "on_weekday" and back == 0 and re.search(r"\blast\b", m.group(0), re.I):
            back = 7
        day = as_of - timedelta(days=back)
        return (day, as_of) if kind == "since_weekday" else (day, day)
    if kind in ("since_date", "on_date"):
        month = MONTHS[(g.get("month") or g["month2"]).lower().rstrip(".")]
        day_of_month = int(g.get("day") or g["day2"])
        when = _latest(month, day_of_month, as_of)
        if when is None:
            return None
        return (when, as_of) if kind == "since_date" else (when, when)
    if kind == "in_month":
        month = MONTHS[g["month"].lower().rstrip(".")]
        if g["month"].lower() == "may" and not re.match(r"\s*(?:$|[?.!,])", m.string[m.end():]):
            return None  # "may" is a verb far more often than a month: only "in May 2025", or "in May" ending a clause
        year = as_of.year if month <= as_of.month else as_of.year - 1
        return _month_range(year, month)
    return None


def find_range(question: str, as_of: date) -> tuple[DateRange | None, str]:
    """The publication-date range a question's time phrase stands for (None without one), and the question
    with that phrase cut out (spaces and stray punctuation tidied)."""
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(question):
            if m.groupdict().get("year") or (kind == "in_month" and _modifier(question, m)):
                continue  # a year names when something happened, not when it was reported
            resolved = _resolve(kind, m, as_of)
            if resolved is None:
                continue
            since, until = resolved
            rest = (question[: m.start()] + " " + question[m.end():]).strip()
            rest = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", rest))
            up_to_now = kind in ("since_date", "since_weekday", "this", "past", "today")
            return DateRange(since, min(until, as_of) if since <= as_of else until, m.group(0).strip(), up_to_now), rest
    return None, question


def _modifier(question: str, m: re.Match[str]) -> bool:
    """'in its March 2025 session', 'in 2024 elections': the date describes a noun that follows it."""
    after = question[m.end():]
    return bool(EVENT_AFTER.match(after))
