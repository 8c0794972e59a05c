"""Answer types: what kind of fact a sentence states and what kind a question asks for.

A sentence carries flags (a time, a number, a person or office); a question asks for at most one of
them ("when", "how many", "who"). Retrieval rewards a candidate whose flags hold the type asked for,
and the confidence notes when the best answer lacks it. The flags are computed once per sentence at
write time and kept in each store's sentence table.
"""

from __future__ import annotations

import re

TIME = 1  # holds a year, month, weekday or "century"
NUMBER = 2  # holds a figure or a number word
PERSON = 4  # names a person or an office: an honorific, a title ("minister", "mayor"), "said X Y", "by X Y"
HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(january|february|march|april|may|june|july|august|september"
                      r"|october|november|december|century|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)
HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
                        r"|hundred|thousand|million|billion|dozen)\b", re.I)
HAS_PERSON = re.compile(
    r"\b(?:Mr|Ms|Mrs|Dr|Prof|Shri|Smt|Sir|Dame|Lord|Lady|H\.E)\.? [A-Z]"
    r"|\b(?i:minister|secretary|president|chairman|chairwoman|chairperson|director|chief|mayor|governor|ambassador"
    r"|spokesman|spokeswoman|spokesperson|commissioner|mediator|ceo|founder|senator|chancellor|premier|envoy)\b"
    r"|\b(?:said|says|told|by|according to) [A-Z][a-z]+ [A-Z][a-z]+"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+,? (?:said|says|told)\b")


def flags(text: str) -> int:
    return ((TIME if HAS_TIME.search(text) else 0) | (NUMBER if HAS_NUMBER.search(text) else 0)
            | (PERSON if HAS_PERSON.search(text) else 0))


TIME_Q = re.compile(r"\b(when|what year|which year|what century|which century|what decade|what date|what month)\b", re.I)
NUMBER_Q = re.compile(r"\b(how many|how much|how long|how old|how far|how large|how big|what percentage|what percent"
                      r"|how often|what number|what amount)\b", re.I)
PERSON_Q = re.compile(r"^\W*(who|whom|whose)\b|\b(which|what) (\w+ )?(minister|official|secretary|president|chair|director"
                      r"|mayor|governor|ambassador|spokes\w+|commissioner|mediator|person|man|woman|leader|executive)\b", re.I)


def answer_type(question: str) -> int:
    """The flag an answer to this question should carry (0: any sentence)."""
    if PERSON_Q.search(question):
        return PERSON
    if TIME_Q.search(question):
        return TIME
    if NUMBER_Q.search(question):
        return NUMBER
    return 0
