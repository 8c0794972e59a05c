"""Words of a question or a sentence as the keyword search sees them: one analysis for both stores.

The analysis (split on non-alphanumerics, drop tokens over 40 characters, lowercase, fold accents,
English stemmer) is tantivy's; the Milvus store configures Milvus's analyzer (tantivy's, too) the
same way, so both rank with BM25 over the same terms.
"""

from __future__ import annotations

import re
from functools import lru_cache

import tantivy

TOKEN = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a an and are as at be by did do does for from had has have how in is it its of on or the this that "
    "to was were what when where which who whom whose why will with about into than then there their they "
    "said says say can could would should been being any all much many".split()
)
MAX_TOKEN = 40


@lru_cache(maxsize=1)
def analyzer() -> tantivy.TextAnalyzer:
    """Words → index terms: split on non-alphanumerics, drop >40-char tokens, lowercase, fold accents, stem."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(MAX_TOKEN))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("english"))
            .build())


def content_words(question: str) -> list[str]:
    """A question's distinct words that are not stopwords or single letters, lowercased, in order."""
    return list(dict.fromkeys(t for t in TOKEN.findall(question.lower()) if t not in STOPWORDS and len(t) > 1))


def terms_of(words: list[str]) -> list[str]:
    """Distinct index terms of these words, in order."""
    analyse = analyzer().analyze
    return list(dict.fromkeys(term for word in words for term in analyse(word)))


def terms(question: str) -> list[str]:
    """Distinct index terms of a question's content words, in order (stopwords and 1-letter words dropped)."""
    return terms_of(content_words(question))
