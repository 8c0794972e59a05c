"""Hybrid retrieval: dense vectors fused with BM25, neighbour-sentence and article context.

Candidates come from the store's dense top-N and BM25 top-N and every sentence of the best
articles (by BM25 and by article vector); their article, neighbours and answer-type flags come
from the reader's in-memory sentence table (store/table.py), and the text is read only for the
ranked hits. Each candidate gets six signals, fused linearly:

    dense      cosine(question, sentence)
    keyword    BM25(question, sentence) / best BM25 among candidates
    window     cosine(question, sentence + half of each neighbour)   (context without changing the quote)
    article    cosine(question, article vector = mean of its sentence vectors)
    article_kw BM25(question, article title + body) / best
    type       answer-type match: a year/date for "when", a number for "how many/much", a person or
               office for "who" / "which minister"

The weights were tuned on ../shared/eval/squad-v1.1-dev-a.json only (bench/eval_squad.py);
tuned on half of its articles, they score the same on the other half.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.ma  # noqa: F401  np.unique imports it on its first call (~35 ms): a cold ask pays it while its models load

from citebot.index.ingest.answer_types import answer_type
from citebot.index.ingest.words import STOPWORDS, content_words
from citebot.index.records import Hit
from citebot.index.store.base import Filter, Reader


@dataclass(frozen=True)
class Weights:
    dense: float = 0.65
    keyword: float = 0.30
    window: float = 0.45
    article: float = 0.20
    article_kw: float = 0.75
    type: float = 0.30


DEFAULT_WEIGHTS = Weights()
_SEARCHES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="citebot-search")  # see HybridSearch._pools
POOL = 100  # dense and keyword candidates each
TOP_ARTICLES = 5  # articles whose every sentence becomes a candidate, by each article signal
NEIGHBOUR_WEIGHT = 0.5
BACKGROUND = slice(10, 30)  # ranks whose mean fused score is the question's background (score_gap)

NAME = re.compile(r"[A-Z][\w'-]*|[\w'-]*\d[\w'-]*")


def names(question: str) -> list[str]:
    """What a question names: capitalised words after its first word, and words with digits, lowercased."""
    out = []
    for n, m in enumerate(NAME.finditer(question)):
        word = m.group(0).lower().removesuffix("'s").strip("'-")
        if (n or m.start() > 0 or any(c.isdigit() for c in word)) and len(word) > 1 and word not in STOPWORDS:
            out.append(word)
    return list(dict.fromkeys(out))


ACRONYM = re.compile(r"(?<![\w'-])[A-Z]{2,6}(?![\w'-])")
SPELLED_GLUE = r"[\w'-]*\s+(?:(?:of|the|and|for|on|de|des|du|la)\s+)*"  # "Bank of England", "Ministry of the Interior"


def acronyms(question: str) -> dict[str, re.Pattern[str]]:
    """The question's all-capital words (2-6 letters), lowercased as names() gives them, each with a
    pattern for its spelled-out form: capitalised words with those initials, small words between."""
    return {m.group(0).lower(): re.compile(r"(?<!\w)" + SPELLED_GLUE.join(m.group(0)) + r"[\w'-]*(?!\w)")
            for m in ACRONYM.finditer(question)}


def missing(words: list[str], text: str, whole_words: bool = True,
            spelled: dict[str, re.Pattern[str]] | None = None) -> float:
    """The share of ``words`` (lowercase) that ``text`` never mentions (0 for no words): as whole words,
    or (``whole_words=False``) as the start of a word, so that a stem matches its inflections. A word
    with a ``spelled`` pattern (acronyms()) also counts where the pattern matches ``text`` as written."""
    if not words:
        return 0.0
    low = text.lower()
    end = r"(?!\w)" if whole_words else ""
    spelled = spelled or {}

    def mentioned(w: str) -> bool:
        return bool(re.search(r"(?<!\w)" + re.escape(w) + end, low) or (w in spelled and spelled[w].search(text)))

    return sum(1 for w in words if not mentioned(w)) / len(words)


def score_gap(scores: np.ndarray) -> float:
    """How far the best fused score stands above the background: the mean of ranks 11-30 (of all but the
    first when there are fewer). The best score alone rises with the size of the collection (more
    sentences, more near matches by chance); the background rises with it, so the gap does not."""
    if scores.size == 0:
        return 0.0
    tail = scores[BACKGROUND] if scores.size > BACKGROUND.start else scores[1:]
    return float(scores[0] - tail.mean()) if tail.size else float(scores[0])


@dataclass
class Retrieved:
    """Ranked hits (with their vectors, for grouping) and the signals confidence is computed from."""

    hits: list[Hit]
    vectors: np.ndarray
    signals: dict[str, float] = field(default_factory=dict)


@dataclass
class Pools:
    """What the first-stage searches return for one question."""

    query: np.ndarray  # the question's vector, one row
    dense_ids: np.ndarray  # dense top-POOL sentence ids, best first
    dense_scores: np.ndarray
    article_ids: np.ndarray  # dense top-TOP_ARTICLES article rowids
    article_scores: np.ndarray
    keyword: dict[int, float]  # BM25 top-POOL: sentence id -> score
    keyword_articles: dict[int, float]  # BM25 top-20: article rowid -> score
    coverage: tuple[float, float]  # (known, covered) of the question's words, covered by the top dense article


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class HybridSearch:
    def __init__(self, reader: Reader, weights: Weights = DEFAULT_WEIGHTS) -> None:
        self.reader = reader
        self.weights = weights

    def search(self, question: str, vector: np.ndarray | Callable[[], np.ndarray], k: int, where: Filter | None = None) -> Retrieved:
        """The k best sentences for the question, among the articles ``where`` lets through. ``vector`` is the
        question's vector, or a function that embeds the question: it is called once the keyword searches,
        which need only the words, have started, so that the embedding and those searches overlap."""
        reader = self.reader
        if reader.sentence_count() == 0:
            return Retrieved([], np.zeros((0, reader.manifest.dimension), np.float32), {})
        words = content_words(question)  # each store analyses them (stems) as its keyword index does
        pools = self._pools(vector, words, where)
        q = pools.query
        kw, kw_art = pools.keyword, pools.keyword_articles
        cand = self._candidates(pools)
        score, cv = self._score(question, q, cand, kw, kw_art)
        order = np.argsort(-score, kind="stable")[:k]
        known, covered = pools.coverage
        hits = reader.hits([(int(cand[j]), float(score[j])) for j in order])
        found = {h.sentence_id for h in hits}
        order = np.asarray([j for j in order if int(cand[j]) in found], dtype=np.int64)
        dense = pools.dense_scores
        signals = {
            "max_dense": float(dense[0]) if dense.size else 0.0,
            "top5_dense": float(np.mean(dense[:5])) if dense.size else 0.0,
            "max_article": float(pools.article_scores[0]) if pools.article_scores.size else 0.0,
            "max_bm25": max(kw.values(), default=0.0),
            "known": known,
            "covered": covered,
            "score_gap": score_gap(score[order]),
        }
        return Retrieved(hits, cv[order], signals)

    def _pools(self, vector: np.ndarray | Callable[[], np.ndarray], words: list[str], where: Filter | None) -> Pools:
        """The four first-stage searches and the question's coverage. The two keyword searches and the coverage
        counts run on threads of their own while this one embeds the question (when asked to) and runs the
        vector searches: they release the GIL while they scan, and at ten million sentences the keyword
        searches take longer than the embedding and the vector searches together."""
        reader = self.reader
        if where:
            reader.allowed_articles(where)  # what the filter lets through, worked out once for the four searches
        keyword = _SEARCHES.submit(reader.keyword_sentences, words, POOL, where)
        keyword_articles = _SEARCHES.submit(reader.keyword_articles, words, 20, where)
        q = np.ascontiguousarray((vector() if callable(vector) else vector).reshape(1, -1), dtype=np.float32)
        ids, scores = reader.dense_sentences(q, POOL, where)
        top_dense_article = int(reader.articles_of(ids[:1])[0]) if ids.size else None
        coverage = _SEARCHES.submit(reader.coverage, words, top_dense_article)
        art_ids, art_scores = reader.dense_articles(q, TOP_ARTICLES, where)
        return Pools(q, ids, scores, art_ids, art_scores, keyword.result(), keyword_articles.result(), coverage.result())

    def _candidates(self, pools: Pools) -> np.ndarray:
        """Sentence ids to score: the dense and keyword pools, and every sentence of the best articles."""
        kw_art = pools.keyword_articles
        best = set(sorted(kw_art, key=kw_art.__getitem__, reverse=True)[:TOP_ARTICLES]) | {int(a) for a in pools.article_ids}
        in_best = self.reader.sentences_of(np.asarray(sorted(best), np.int64))
        kw = np.fromiter(pools.keyword, np.int64, len(pools.keyword))
        return np.unique(np.concatenate([pools.dense_ids, kw, in_best]))

    def _score(self, question: str, q: np.ndarray, cand: np.ndarray, kw: dict[int, float],
               kw_art: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """(fused score, sentence vectors) of each candidate."""
        reader = self.reader
        before, after = reader.neighbours(cand)
        wanted = np.unique(np.concatenate([cand, before[before >= 0], after[after >= 0]]))  # vectors fetched once
        vecs = reader.sentence_vectors(wanted)
        cv = vecs[np.searchsorted(wanted, cand)]
        window = cv.copy()
        for side in (before, after):
            has = side >= 0
            window[has] += NEIGHBOUR_WEIGHT * vecs[np.searchsorted(wanted, side[has])]
        uniq_art, inverse = np.unique(reader.articles_of(cand), return_inverse=True)
        qv = q[0]
        wanted_type = answer_type(question)
        w = self.weights
        score = (w.dense * (cv @ qv)
                 + w.keyword * _spread(kw, cand)
                 + w.window * (_normalise(window) @ qv)
                 + w.article * (reader.article_vectors_of(uniq_art) @ qv)[inverse]
                 + w.article_kw * _spread(kw_art, uniq_art)[inverse]
                 + w.type * ((reader.flags_of(cand) & wanted_type) > 0))
        return score, cv


def _spread(scores: dict[int, float], ids: np.ndarray) -> np.ndarray:
    """Scores (divided by the best) laid out along sorted ``ids``; 0 where an id has none."""
    out = np.zeros(len(ids))
    if not scores or not len(ids):
        return out
    keys = np.fromiter(scores, np.int64, len(scores))
    values = np.fromiter(scores.values(), np.float64, len(scores))
    at = np.minimum(np.searchsorted(ids, keys), len(ids) - 1)
    hit = ids[at] == keys
    out[at[hit]] = values[hit]
    best = float(values.max())
    return out / best if best > 0 else out
