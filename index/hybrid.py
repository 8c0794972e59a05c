"""Hybrid retrieval: dense vectors fused with BM25, neighbour-sentence and article context.

Candidates come from the dense top-N, the BM25 top-N and every sentence of the best articles
(by BM25 and by article vector). Each candidate gets six signals, fused linearly:

    dense      cosine(question, sentence)
    keyword    BM25(question, sentence) / best BM25 among candidates
    window     cosine(question, sentence + half of each neighbour)   (context without changing the quote)
    article    cosine(question, article vector = mean of its sentence vectors)
    article_kw BM25(question, article title + body) / best
    type       answer-type match: a year/date for "when", a number for "how many/much"

The weights were tuned on ../shared/eval/squad-v1.1-dev-a.json only (bench/eval_squad.py);
tuned on half of its articles, they score the same on the other half.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from index import table
from index.keyword import terms as keyword_terms
from index.records import Hit


@dataclass(frozen=True)
class Weights:
    dense: float = 0.65
    keyword: float = 0.30
    window: float = 0.45
    article: float = 0.20
    article_kw: float = 0.75
    type: float = 0.30


DEFAULT_WEIGHTS = Weights()
POOL = 100  # dense and keyword candidates each
TOP_ARTICLES = 5  # articles whose every sentence becomes a candidate, by each article signal
NEIGHBOUR_WEIGHT = 0.5

TIME_Q = re.compile(r"\b(when|what year|which year|what century|which century|what decade|what date|what month)\b", re.I)
NUMBER_Q = re.compile(r"\b(how many|how much|how long|how old|how far|how large|how big|what percentage|what percent"
                      r"|how often|what number|what amount)\b", re.I)


def answer_type(question: str) -> int:
    """The table flag an answer to this question should carry (0: any sentence)."""
    if TIME_Q.search(question):
        return table.TIME
    if NUMBER_Q.search(question):
        return table.NUMBER
    return 0


@dataclass
class Retrieved:
    """Ranked hits (with their vectors, for grouping) and the signals confidence is computed from."""

    hits: list[Hit]
    vectors: np.ndarray
    signals: dict[str, float] = field(default_factory=dict)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class HybridSearch:
    def __init__(self, reader, weights: Weights = DEFAULT_WEIGHTS) -> None:  # type: ignore[no-untyped-def]
        self.reader = reader
        self.weights = weights

    def search(self, question: str, vector: np.ndarray, k: int) -> Retrieved:
        reader = self.reader
        q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        n = int(reader.vectors.ntotal)
        if n == 0:
            return Retrieved([], np.zeros((0, q.shape[1]), np.float32), {})
        dense_scores, dense_ids = reader.vectors.search(q, min(POOL, n))
        keep = dense_ids[0] >= 0
        dense_ids, dense_scores = dense_ids[0][keep], dense_scores[0][keep]
        art_scores, art_ids = reader.article_vectors.search(q, min(TOP_ARTICLES, int(reader.article_vectors.ntotal)))
        words = keyword_terms(question)
        kw = reader.keywords.top_sentences(words, POOL)
        kw_art = reader.keywords.top_articles(words, 20)
        best_articles = set(sorted(kw_art, key=kw_art.__getitem__, reverse=True)[:TOP_ARTICLES])
        best_articles |= {int(a) for a in art_ids[0] if a >= 0}
        tab = reader.table
        cand = np.unique(np.concatenate([dense_ids, np.fromiter(kw, np.int64, len(kw)),
                                         tab.sentences_of(np.asarray(sorted(best_articles), np.int64))]))
        rows = tab.table.rows_of(cand)
        before, after = tab.neighbours(rows)
        # vectors of the candidates and their neighbours, fetched once
        wanted = np.unique(np.concatenate([rows, before[before >= 0], after[after >= 0]]))
        vecs = reader.vectors.reconstruct_batch(tab.table.ids[wanted])
        slot = np.searchsorted(wanted, rows)
        cv = vecs[slot]
        window = cv.copy()
        for side in (before, after):
            has = side >= 0
            window[has] += NEIGHBOUR_WEIGHT * vecs[np.searchsorted(wanted, side[has])]
        art_rowids = tab.table.article[rows]
        uniq_art, inverse = np.unique(art_rowids, return_inverse=True)
        art_vecs = reader.article_vectors.reconstruct_batch(uniq_art)
        qv = q[0]
        f_dense = cv @ qv
        f_window = _normalise(window) @ qv
        f_article = (art_vecs @ qv)[inverse]
        best_kw = max(kw.values(), default=0.0) or 1.0
        best_kw_art = max(kw_art.values(), default=0.0) or 1.0
        f_kw = np.asarray([kw.get(int(i), 0.0) for i in cand]) / best_kw
        f_kw_art = np.asarray([kw_art.get(int(a), 0.0) for a in uniq_art])[inverse] / best_kw_art
        wanted_type = answer_type(question)
        f_type = ((tab.table.flags[rows] & wanted_type) > 0).astype(np.float64) if wanted_type else np.zeros(len(cand))
        w = self.weights
        score = (w.dense * f_dense + w.keyword * f_kw + w.window * f_window + w.article * f_article
                 + w.article_kw * f_kw_art + w.type * f_type)
        order = np.argsort(-score, kind="stable")[:k]
        top_dense_article = int(tab.table.article[tab.table.rows_of(dense_ids[:1])][0]) if dense_ids.size else None
        known, covered = reader.keywords.coverage(words, top_dense_article)
        with reader.lock:
            found = reader.rows(int(i) for i in cand[order])
        hits = [reader.hit(found[int(cand[j])], float(score[j])) for j in order if int(cand[j]) in found]
        top_dense = dense_scores.tolist()
        signals = {
            "max_dense": top_dense[0] if top_dense else 0.0,
            "top5_dense": float(np.mean(top_dense[:5])) if top_dense else 0.0,
            "max_article": float(art_scores[0][0]) if art_scores.size else 0.0,
            "max_bm25": max(kw.values(), default=0.0),
            "known": known,
            "covered": covered,
        }
        return Retrieved(hits, cv[[j for j in order if int(cand[j]) in found]], signals)
