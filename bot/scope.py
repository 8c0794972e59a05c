"""Which part of the collection a question is about: a publication-date range and outlets.

They come from the asker (``--since``, ``--until``, ``--source`` on the command line; tokens such as
``since:2025-08-01 until:2025-08-07 source:reuters`` in the question, as Slack users type them) and
from the question's own words: a time phrase ("this week", "in August", resolved against the
reference date by index/search/when.py) and an outlet the index holds named after "from", "by" or
"according to" ("what did Reuters report", "from the Baltic Ledger"). What was taken as a filter is
cut out of the text that is searched. Explicit dates win over a time phrase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from citebot.index.errors import QuestionError
from citebot.index.ingest.clean import agency_name
from citebot.index.search.when import day_label, find_range
from citebot.index.store.base import Filter

TOKEN = re.compile(r"(?<!\S)(?P<key>since|until|source|as-of):(?:\"(?P<quoted>[^\"]+)\"|(?P<value>\S+))", re.I)


@dataclass(frozen=True)
class Scope:
    where: Filter = field(default_factory=Filter)
    phrase: str | None = None  # the time phrase of the question that was taken as a filter
    unknown: tuple[str, ...] = ()  # outlets asked for that the index does not hold
    up_to_now: bool = False  # the phrase reaches the reference date ("since Monday", "this week")

    def label(self) -> str:
        """'from Reuters, since Mon 4 Aug 2025'; '' without a filter."""
        parts = []
        if self.where.sources:
            parts.append("from " + " or ".join(self.where.sources))
        since, until = self.where.since, self.where.until
        if since and until and self.up_to_now and since != until:
            parts.append(f"since {day_label(since)}")
        elif since and until:
            parts.append(f"on {day_label(since)}" if since == until else f"{day_label(since)} - {day_label(until)}")
        elif since:
            parts.append(f"since {day_label(since)}")
        elif until:
            parts.append(f"until {day_label(until)}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {"since": self.where.since.isoformat() if self.where.since else None,
                "until": self.where.until.isoformat() if self.where.until else None,
                "sources": list(self.where.sources), "phrase": self.phrase, "label": self.label()}


def parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QuestionError(f"{what} {text!r} is not a date: give it as YYYY-MM-DD") from None


def match_outlets(asked: Sequence[str], outlets: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the index's outlets that the names asked for stand for, the names that match none). A name matches an
    outlet case-insensitively as the whole name, as words inside it ("ledger" is not enough, "Baltic Ledger"
    is), or as an agency's initials ("PTI": Press Trust of India)."""
    found: list[str] = []
    unknown: list[str] = []
    for name in asked:
        want = " ".join(name.replace("_", " ").split()).casefold()
        spelled = (agency_name(name) or "").casefold()
        hits = [o for o in outlets if o.casefold() in (want, spelled)
                or (len(want) >= 4 and re.search(r"(?<!\w)" + re.escape(want) + r"(?!\w)", o.casefold()) and len(want) * 2 >= len(o))]
        if hits:
            found += [h for h in hits if h not in found]
        else:
            unknown.append(name)
    return tuple(found), tuple(unknown)


def named_outlet(question: str, outlets: Sequence[str]) -> tuple[str | None, str]:
    """An outlet the index holds, named in the question as a source, and the question to search: "... from
    Reuters", "according to the Baltic Ledger" (the words are cut out), "what did Reuters report" (kept)."""
    for outlet in sorted(outlets, key=len, reverse=True):
        name = r"(?:the\s+)?(?P<name>" + re.escape(outlet) + r")(?!\w)"
        m = re.search(r"\s*\b(?:from|by|according to|in)\s+" + name, question, re.I)
        if m and capitalised(m.group("name")):
            rest = question[: m.start()] + question[m.end():]
            return outlet, re.sub(r"\s+([?.!,])", r"\1", " ".join(rest.split()))
        m = re.search(r"\bdid\s+" + name + r"\s+(?:report|say|write|publish)", question, re.I)
        if m and capitalised(m.group("name")):
            return outlet, question
    return None, question


def capitalised(name: str) -> bool:
    """Written as a name: each word starts with a capital ("in the week" does not name the outlet The Week)."""
    return all(word[0].isupper() for word in name.split() if word[0].isalpha())


def scope_of(question: str, outlets: Sequence[str], as_of: date, since: date | None = None, until: date | None = None,
             sources: Sequence[str] = (), literal: bool = False) -> tuple[Scope, str]:
    """The question's scope and the text to search (tokens and phrases taken as filters cut out; ``literal``:
    only the explicit dates and sources, the question's words left as they are)."""
    if literal:
        matched, unknown = match_outlets(sources, outlets) if sources else ((), ())
        return Scope(Filter(since, until, matched), None, unknown), question
    asked = list(sources)
    text = question
    for m in list(TOKEN.finditer(question)):
        key, value = m.group("key").lower(), m.group("quoted") or m.group("value")
        if key == "since":
            since = since or parse_date(value, "since:")
        elif key == "until":
            until = until or parse_date(value, "until:")
        elif key == "as-of":
            as_of = parse_date(value, "as-of:")
        else:
            asked.append(value)
        text = text.replace(m.group(0), " ")
    text = " ".join(text.split())
    phrase, up_to_now = None, False
    if since is None and until is None:
        found, text = find_range(text, as_of)
        if found is not None:
            since, until, phrase, up_to_now = found.since, found.until, found.phrase, found.up_to_now
    outlet, text = named_outlet(text, outlets) if not asked else (None, text)
    matched, unknown = match_outlets(asked, outlets) if asked else (((outlet,) if outlet else ()), ())
    return Scope(Filter(since, until, matched), phrase, unknown, up_to_now), text
