"""Find the prose in a messy news article and the metadata its text carries.

The article body is never rewritten here: the result is a set of character spans of the body
that hold article prose, so that sentence offsets always point into the text as ingested.
Everything else (title lines, datelines, dates, bylines, photo credits, "Listen to This
Article", syndication notices, link text in other scripts) is recognised and left out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

# ` date 2025-08-06 ` glued to the start of the first paragraph by some scrapers.
DATE_PREFIX = re.compile(r"date\s+(\d{4}-\d{2}-\d{2})\s+")

# "NEW DELHI: ", "New Delhi [India], August 6 : ", "LONDON (Reuters) - ", "MOSCOW, Aug 6 (PTI): "
DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,3}"  # NEW DELHI
    r"|[A-Z][\w.'-]+(?: [A-Z][\w.'-]+){0,3} ?\[[^\]\n]{2,30}\])"  # New Delhi [India]
    r"(?:,? (?:[A-Z][a-z]{2,8}\.? \d{1,2}|\d{1,2} [A-Z][a-z]{2,8}))?"  # , August 6
    r"(?: ?\([A-Za-z]{2,12}\))?"  # (PTI)
    r" ?(?::|(?<= )[-\u2013\u2014])\s+"
)

BOILERPLATE = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^listen to (?:this|the) (?:article|story)\b",
        r"^(?:first published|last updated|updated|published|posted)(?: on)?\s*:",
        r"\|\s*(?:photo|image|picture|file photo)\s*:",
        r"^\(?(?:photo|image|picture|file photo|photograph|credit)s?\s*(?:credit)?\s*:",
        r"syndicated feed|auto-generated from|may have been reworked by",
        r"^\(?(?:with inputs from|edited by|written by)\b",
        r"^(?:also read|read more|read also|recommended|advertisement|subscribe\b|sign up\b"
        r"|follow us|click here|share this|download the .* app|get the latest)",
        r"^(?:copyright|©|all rights reserved)",
    )
]

# Calls to the reader (apps, newsletters, letters to the editor, comments, sharing): a sentence
# holding one is cut from its paragraph, with whatever follows it.
READER_CALL = re.compile(
    r"\b(?:download (?:the|our) [\w' .-]{0,40}?apps?\b"
    r"|(?:submit|send|write) (?:your |a )?letters? to the editor|read more letters to the editor"
    r"|we(?: would|'d)? (?:want|like|love) to hear (?:what you think|from you)"
    r"|(?:sign up|subscribe) (?:for|to) (?:our|the) [\w' -]{0,30}?newsletters?"
    r"|follow us on|(?:leave|write|post) a comment|comments? (?:are|is) (?:now )?(?:closed|moderated)"
    r"|notify me (?:of|when) new comments|uses akismet to reduce spam|click here to|tap here to)",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)]*\s+")
LABEL_MAX_WORDS = 3  # "Release Date:", "Share this article:": a short line ending in a colon is a field label

# Syndication notice naming the outlet that republished the wire copy.
REWORKED_BY = re.compile(r"reworked by (?:the )?(?P<outlet>[A-Z][\w&.' -]{1,40}?) staff", re.I)
NEWS_AGENCIES = (
    "Press Trust of India",
    "Asian News International",
    "Indo-Asian News Service",
    "United News of India",
    "Reuters",
    "Associated Press",
    "Agence France-Presse",
    "Bloomberg",
    "Press Information Bureau",
    "Baltic News Service",
    "Deutsche Presse-Agentur",
    "Xinhua",
    "Kyodo News",
    "Yonhap",
    "TASS",
)
# Agency credits as papers print them: "(PTI)", "LONDON (Reuters) -", "— AFP", "(With inputs from IANS)".
AGENCY_TAGS = {
    "PTI": "Press Trust of India", "ANI": "Asian News International", "IANS": "Indo-Asian News Service",
    "UNI": "United News of India", "PIB": "Press Information Bureau", "BNS": "Baltic News Service",
    "AP": "Associated Press", "AFP": "Agence France-Presse", "DPA": "Deutsche Presse-Agentur",
    "REUTERS": "Reuters", "BLOOMBERG": "Bloomberg", "XINHUA": "Xinhua", "KYODO": "Kyodo News",
    "YONHAP": "Yonhap", "TASS": "TASS", "EFE": "EFE", "ANSA": "ANSA", "LUSA": "Lusa", "NTB": "NTB",
    "LETA": "LETA", "ELTA": "ELTA", "ERR": "ERR", "PAP": "PAP", "CTK": "CTK", "APA": "APA",
}
# A bracketed credit closing a paragraph ("... Alexey Gruzdev (PIB)"), possibly followed by a full stop.
TRAILING_TAG = re.compile(r"\s*\((?P<tag>[A-Za-z][A-Za-z.-]{1,11})\)\.?$")
# A credit line or a credit after a dash at the very end: "— Reuters", "- AFP", "(With inputs from PTI)".
DASH_CREDIT = re.compile(r"(?:^|\s)[-\u2013\u2014]{1,2}\s*(?P<tag>[A-Za-z][A-Za-z.-]{1,11})\.?$")
INPUTS_FROM = re.compile(r"(?:^|\s)\(?\s*with inputs? from (?P<tag>[A-Za-z][A-Za-z .-]{1,40}?)\s*\)?\.?$", re.I)
TERMINAL = ('.', '!', '?', '"', "'", "\u201d", "\u2019", ")", ":", ";")
MONTHS = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\b", re.IGNORECASE
)
HEADING_MAX_WORDS = 15
INNER_SENTENCE = re.compile(r"[a-z]{3}[.!?] +\S")  # "...eyes and nose. pic.twitter.com/..." (an embedded post)


@dataclass
class Structure:
    """What was found in a text: prose spans and metadata."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    title: str | None = None
    source: str | None = None
    published: str | None = None


def normalise_text(raw: str) -> str:
    """Unify newlines and drop a byte-order mark; the result is the stored article body."""
    return raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def is_boilerplate(line: str) -> bool:
    return any(p.search(line) for p in BOILERPLATE) or (line.endswith(":") and len(line.split()) <= LABEL_MAX_WORDS)


def reader_call_start(line: str) -> int | None:
    """Where the sentence holding a call to the reader starts in ``line``, or None."""
    m = READER_CALL.search(line)
    if not m:
        return None
    ends = [e.end() for e in SENTENCE_END.finditer(line, 0, m.start())]
    return ends[-1] if ends else 0


def foreign_script_share(text: str) -> float:
    """Share of letters that are not Latin (e.g. Hindi link text in an English article)."""
    if text.isascii():  # the common case, without a Unicode name lookup per character
        return 0.0
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    foreign = sum(1 for c in letters if not unicodedata.name(c, "LATIN").startswith("LATIN"))
    return foreign / len(letters)


def parse_date(text: str) -> str | None:
    """An ISO date from a date line such as 'Aug 06, 2025' or 'Wednesday, August 06, 2025 | 9 PM'."""
    head = text.split("|")[0]
    if not re.search(r"\b(?:19|20)\d{2}\b", head) or not MONTHS.search(head):
        m = re.search(r"\b((?:19|20)\d{2})-(\d{2})-(\d{2})\b", head)
        return iso_date(m.group(0)) if m else None
    from dateutil import parser as dateparser  # here, not at the top: questions read this module, only ingest parses dates

    try:
        return str(dateparser.parse(head, fuzzy=True).date().isoformat())
    except (ValueError, OverflowError, AttributeError, TypeError):
        return None


def iso_date(value: object) -> str | None:
    """YYYY-MM-DD from an ISO date or timestamp string, else None."""
    if not isinstance(value, str):
        return None
    m = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", value)
    if not m:
        return parse_date(value)
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def is_date_line(line: str) -> bool:
    words = line.split()
    return len(words) <= 12 and not line.endswith((".", "?", "!")) and parse_date(line) is not None


def is_heading(line: str) -> bool:
    """A short line without closing punctuation and without a sentence inside it."""
    return not line.endswith(TERMINAL) and len(line.split()) <= HEADING_MAX_WORDS and not INNER_SENTENCE.search(line)


def dateline_length(line: str) -> int:
    """Length of a dateline ('NEW DELHI: ') at the start of a paragraph, or 0."""
    m = DATELINE.match(line)
    if not m or len(m.group(0)) > 60:
        return 0
    rest = line[m.end():]
    return m.end() if rest[:1].isupper() or rest[:1].isdigit() or rest[:1] in "\"'\u201c" else 0


def _lines(body: str) -> list[tuple[int, str]]:
    """Non-empty lines with the offset of their first non-space character."""
    out = []
    pos = 0
    for raw in body.split("\n"):
        stripped = raw.strip()
        if stripped:
            out.append((pos + raw.index(stripped[0]), stripped))
        pos += len(raw) + 1
    return out


def _is_repeat(line: str, others: list[str]) -> bool:
    """A teaser or repeated title: the line, cut anywhere, starts a longer line elsewhere."""
    probe = line.rstrip(".\u2026 ")
    if len(probe) < 20:
        return False
    return any(o != line and o.startswith(probe) for o in others)


def _agency(line: str) -> str | None:
    for name in NEWS_AGENCIES:
        if line.lower().startswith(name.lower()):
            return name
    return None


def agency_name(tag: str, known_only: bool = True) -> str | None:
    """The agency a credit tag stands for ("PTI" -> "Press Trust of India"); an unknown all-capitals tag
    stands for itself unless ``known_only``."""
    key = tag.strip(" .").upper()
    if key in AGENCY_TAGS:
        return AGENCY_TAGS[key]
    named = next((n for n in NEWS_AGENCIES if n.upper() == key), None)
    if named or known_only:
        return named
    return key if key.isalpha() and 2 <= len(key) <= 6 and tag.strip(" .").isupper() else None


def _spells(words: str, tag: str) -> bool:
    """The words just before a bracket spell the tag: an abbreviation being defined ("Trade (DPIIT)")."""
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]+", words) if w[0].isupper())
    return len(tag) >= 2 and tag.upper() in initials[-len(tag) - 3:].upper()


def trailing_credit(line: str) -> tuple[str, int] | None:
    """(agency, where the credit starts) for a credit that closes a paragraph: "... Gruzdev (PIB)",
    "... on Friday. — Reuters", "(With inputs from PTI)"."""
    m = INPUTS_FROM.search(line)
    if m:
        name = agency_name(m.group("tag"), known_only=False)
        return (name, m.start()) if name else None
    m = TRAILING_TAG.search(line)
    if m and not _spells(line[: m.start()], m.group("tag")):
        # An unknown tag counts only without a full stop after it: "(NATO)." ends a sentence, "(BNS)" credits it.
        name = agency_name(m.group("tag"), known_only=line.endswith("."))
        if name:
            return name, m.start()
    m = DASH_CREDIT.search(line)
    if m:
        name = agency_name(m.group("tag"))
        if name:
            return name, m.start()
    return None


def dateline_agency(line: str) -> str | None:
    """The agency named in a dateline: "MOSCOW, Aug 6 (PTI): ", "LONDON (Reuters) - "."""
    m = DATELINE.match(line)
    tag = re.search(r"\(([A-Za-z]{2,12})\)", m.group(0)) if m else None
    return agency_name(tag.group(1), known_only=False) if tag else None


def find_structure(body: str) -> Structure:
    """Locate prose spans, title, outlet and date in a normalised article body."""
    found = Structure()
    lines = _lines(body)
    texts = [t for _, t in lines if not is_boilerplate(t)]
    seen: set[str] = set()
    seen_prose = False
    agencies: list[str] = []  # credits found in datelines and paragraph ends, in order
    for start, line in lines:
        m = DATE_PREFIX.match(body, start) if start == lines[0][0] else None
        if m:
            found.published = found.published or iso_date(m.group(1))
            start, line = m.end(), body[m.end(): start + len(line)].strip()
            if not line:
                continue
        outlet = REWORKED_BY.search(line)
        if outlet:
            found.source = outlet.group("outlet").strip()
        credit = trailing_credit(line)
        if credit and credit[1] == 0:  # a credit line of its own: "(With inputs from PTI)", "— Reuters"
            agencies.append(credit[0])
            continue
        if is_boilerplate(line) or foreign_script_share(line) > 0.3:
            if re.match(r"^(?:first published|published|posted)", line, re.I):
                found.published = found.published or parse_date(line.split(":", 1)[-1])
            continue
        if is_date_line(line):
            found.published = found.published or parse_date(line)
            continue
        if line in seen or _is_repeat(line, texts):
            continue
        seen.add(line)
        if is_heading(line):
            agency = _agency(line)
            if agency:
                found.source = found.source or agency
            elif not seen_prose and found.title is None:
                found.title = line
            continue
        skip = dateline_length(line)
        if skip:
            agencies.append(dateline_agency(line) or "")
        cut = reader_call_start(line)
        if cut is None and credit:  # the credit is not part of the quoted prose
            agencies.append(credit[0])
            cut = credit[1]
        end = len(line) if cut is None else len(line[:cut].rstrip())
        if end <= skip:
            continue
        found.spans.append((start + skip, start + end))
        seen_prose = True
    found.source = found.source or next((a for a in agencies if a), None)
    return found
