"""BM25 as both stores rank with it: the parameters, the title's weight, and how much of a
question the collection knows and an article covers (from each term's article frequency)."""

from __future__ import annotations

import math

K1, B = 1.2, 0.75  # tantivy's BM25 parameters (the Milvus store sets the same)
TITLE_WEIGHT = 0.5  # a title word counts half as much as a body word in the article ranking


def idf_coverage(words: list[str], df: dict[str, int], in_article: set[str], n: int) -> tuple[float, float]:
    """(known, covered) from each term's article frequency ``df`` among ``n`` articles (shared by the stores)."""
    total = missing = covered = 0.0
    for word in words:
        idf = math.log(1.0 + (n + 1) / (df[word] + 0.5))
        total += idf
        if df[word] == 0:
            missing += idf
        elif word in in_article:
            covered += idf
    if total <= 0:
        return 1.0, 0.0
    return 1.0 - missing / total, covered / total
