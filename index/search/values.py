"""The values a question asks about (ordinals, years, other numbers) and whether a sentence states another.

"Who chaired the 10th session?" against "The 11th session was co-chaired by …": the sentence repeats
every other word of the question, so similarity and the reranker both like it, but it is about
another session. A value conflict is a value of the question that the sentence lacks, while the
sentence carries a different value of the same kind in the same place: followed by the same word
("10th session" / "11th session", "the 2001 report" / "the 2007 report"). A value followed by no
word before a punctuation mark ("in 1942?", "in 2010, the") is not compared: its place cannot be
told, and for "What was not filmed since 2005?" a sentence saying "in 2009" may well be the answer.
The confidence reads it (bot/answer.py: value_conflict).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from citebot.index.ingest.words import STOPWORDS

ORDINAL_WORDS = {w: n for n, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(), start=1)}
VALUE = re.compile(r"(?<![\w.])(\d+(?:[,.]\d+)*)(?:(st|nd|rd|th)|[-\u2013](\d{2})(?!\d))?(?!\w)"
                   r"|\b(" + "|".join(ORDINAL_WORDS) + r")\b", re.I)
YEAR = re.compile(r"1\d{3}|20\d{2}")
WORD = re.compile(r"(?<!\w)[^\W\d_][\w'-]*")
HEAD_CHARS = 40  # how far after a value its head word is looked for
STOP = re.compile(r"[,;:.?!()\[\]\"\d\u201c\u201d]")


class Value(NamedTuple):
    kind: str  # "ordinal", "year" or "number"
    value: str  # "10" for "10th" and "tenth"; "3000" for "3,000"
    head: str | None  # the first content word after it, lowercased, without a plural s


def _head(text: str, end: int) -> str | None:
    """The first content word after a value, before any punctuation or other figure ("in 1942, the" has none)."""
    for m in WORD.finditer(STOP.split(text[end:end + HEAD_CHARS], maxsplit=1)[0]):
        word = m.group(0).lower()
        if word not in STOPWORDS:
            return _word(word)
    return None


def values(text: str) -> list[Value]:
    """Every ordinal ("10th", "tenth"), year (1000-2099; "2004-05" gives 2004 and 2005) and other number."""
    out = []
    for m in VALUE.finditer(text):
        head = _head(text, m.end())
        if m.group(4):
            out.append(Value("ordinal", str(ORDINAL_WORDS[m.group(4).lower()]), head))
            continue
        number = m.group(1).replace(",", "")
        if m.group(2):
            out.append(Value("ordinal", number, head))
        elif YEAR.fullmatch(number):
            out.append(Value("year", number, head))
            if m.group(3):
                out.append(Value("year", number[:2] + m.group(3), head))
        else:
            out.append(Value("number", number, head))
            if m.group(3):
                out.append(Value("number", m.group(3), head))
    return out


def _word(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def value_conflict(question: str, sentence: str, article: str = "") -> bool:
    """Is the sentence about another instance than the question asks about? For a value of the
    question that the sentence does not state: the sentence states another of the same kind before
    the same word ("the 11th session" for "the 10th session"), or it names that word bare ("the
    session was co-chaired by …") and the article's first value of that kind before that word (its
    title first) is another: a definite "the session" in a news report is the one it introduced."""
    said = values(sentence)
    stated = {v.value for v in said}
    words = {_word(w.group(0).lower()) for w in WORD.finditer(sentence)}
    introduced: dict[tuple[str, str | None], str] | None = None
    for v in values(question):
        if v.head is None or v.value in stated:
            continue
        if any(s.kind == v.kind and s.head == v.head for s in said):
            return True
        if v.head in words:
            if introduced is None:
                introduced = {}
                for a in values(article):
                    introduced.setdefault((a.kind, a.head), a.value)
            if introduced.get((v.kind, v.head), v.value) != v.value:
                return True
    return False
