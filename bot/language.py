"""Which language a question is in, as far as citebot needs to know: English, or which other one.

citebot's models read English. A question in another language gets retrieval's closest matches but
no answer, with a message that says why, instead of a misleading "the articles do not answer".

Two checks, each conservative (an English question must never be refused):
- the script: most letters outside Latin (Devanagari, Cyrillic, Arabic, CJK, ...) name the language;
- function words: Hindi written in Latin script ("Hinglish": "session ko kisne co-chair kiya?") and a
  few European languages are recognised by words that are common in them and are not English words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ENGLISH = "en"
# Unicode script (the first word of a character's name) -> (language code, name)
SCRIPTS = {
    "DEVANAGARI": ("hi", "Hindi"), "BENGALI": ("bn", "Bengali"), "GURMUKHI": ("pa", "Punjabi"),
    "GUJARATI": ("gu", "Gujarati"), "TAMIL": ("ta", "Tamil"), "TELUGU": ("te", "Telugu"),
    "KANNADA": ("kn", "Kannada"), "MALAYALAM": ("ml", "Malayalam"), "ORIYA": ("or", "Odia"),
    "CYRILLIC": ("ru", "Russian"), "GREEK": ("el", "Greek"), "ARABIC": ("ar", "Arabic"), "HEBREW": ("he", "Hebrew"),
    "CJK": ("zh", "Chinese"), "HIRAGANA": ("ja", "Japanese"), "KATAKANA": ("ja", "Japanese"),
    "HANGUL": ("ko", "Korean"), "THAI": ("th", "Thai"), "GEORGIAN": ("ka", "Georgian"), "ARMENIAN": ("hy", "Armenian"),
}
FOREIGN_SCRIPT_SHARE = 0.5  # share of letters: a Latin question quoting one foreign name stays English

# Words frequent in each language and not English words (nor common in English names).
FUNCTION_WORDS = {
    ("hi-Latn", "Hindi (in Latin script)"): frozenset(
        "kya kaun kisne kisko kiska kiski kiske kab kahan kahaan kyun kyon kaise kitna kitne kitni konsa kaunsa "
        "hai hain tha thi thay ka ki ke ko mein aur nahi nahin bhi wala wale wali gaya gayi gaye kiya kiye kari karne "
        "karta karte raha rahi rahe hua hui hue liye baare baat saath unhone usne inhone yeh woh batao bataiye "
        "hota hoti hote gayi sakta sakte chahiye".split()),
    ("es", "Spanish"): frozenset("qué quién quien quiénes cuál cuáles cuándo dónde cómo cuánto cuántos el la los las "
                                 "del una fue es está están por para según sobre".split()),
    ("fr", "French"): frozenset("qui quel quelle quels quelles quand où comment combien est sont été le la les "
                                "des du une pour sur selon avec dans".split()),
    ("de", "German"): frozenset("wer wann wo wie warum welche welcher welches wurde wurden ist sind haben "
                                "der das dem des ein eine einen und mit für über von".split()),
    ("pt", "Portuguese"): frozenset("quem qual quais quando onde como quanto quantos foi são está estão pelo pela "
                                    "da dos das uma para sobre segundo".split()),
}
ENGLISH_WORDS = frozenset(
    "the a an of to in on at by for with from and or is are was were be been has have had did do does who whom "
    "whose what which when where why how much many did said says will would can could should this that these "
    "those it its their there".split())
MIN_MARKERS = 2  # distinct marker words needed
MIN_MARKER_SHARE = 0.25  # of the question's words
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class Language:
    code: str  # "en", "hi", "hi-Latn" (Hindi in Latin script), ...
    name: str

    @property
    def english(self) -> bool:
        return self.code == ENGLISH

    def notice(self) -> str | None:
        """What to say instead of an answer, for a question citebot cannot read."""
        return None if self.english else f"citebot answers questions in English; this one looks like {self.name}."


def script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


def by_script(text: str) -> Language | None:
    """The language of a question written mostly in a non-Latin script."""
    letters = [c for c in text if c.isalpha()]
    if not letters or text.isascii():
        return None
    scripts: dict[str, int] = {}
    for c in letters:
        script = script_of(c)
        if script != "LATIN":
            scripts[script] = scripts.get(script, 0) + 1
    if not scripts or sum(scripts.values()) / len(letters) < FOREIGN_SCRIPT_SHARE:
        return None
    top = max(scripts, key=lambda s: scripts[s])
    code, name = SCRIPTS.get(top, ("und", f"a language in {top.title()} script"))
    return Language(code, name)


def by_words(text: str) -> Language | None:
    """The language whose function words make up a good share of a Latin-script question."""
    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return None
    english = sum(w in ENGLISH_WORDS for w in words)
    best: tuple[int, tuple[str, str]] | None = None
    for key, markers in FUNCTION_WORDS.items():
        found = [w for w in words if w in markers]
        distinct = len(set(found))
        if distinct >= MIN_MARKERS and len(found) / len(words) >= MIN_MARKER_SHARE and len(found) > english:
            if best is None or len(found) > best[0]:
                best = (len(found), key)
    return Language(*best[1]) if best else None


def detect(question: str) -> Language:
    """The question's language: English unless the script or the function words clearly say otherwise."""
    return by_script(question) or by_words(question) or Language(ENGLISH, "English")
