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

from index import keyword
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
HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})s?\b|\b(january|february|march|april|may|june|july|august|september"
                      r"|october|november|december|century|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I)
HAS_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty"
                        r"|hundred|thousand|million|billion|dozen)\b", re.I)


def answer_type(question: str) -> re.Pattern[str] | None:
    if TIME_Q.search(question):
        return HAS_TIME
    if NUMBER_Q.search(question):
        return HAS_NUMBER
    return None


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
        dense = {int(i): float(s) for i, s in zip(dense_ids[0], dense_scores[0], strict=True) if i >= 0}
        words = keyword.terms(question)
        art_scores, art_ids = reader.article_vectors.search(q, min(TOP_ARTICLES, int(reader.article_vectors.ntotal)))
        with reader.lock:
            kw = keyword.top_sentences(reader.db, words, POOL)
            kw_art = keyword.top_articles(reader.db, words, 20)
            best_articles = set(sorted(kw_art, key=kw_art.__getitem__, reverse=True)[:TOP_ARTICLES])
            best_articles |= {int(a) for a in art_ids[0] if a >= 0}
            ids = set(dense) | set(kw) | reader.sentence_ids_of(best_articles)
            rows = reader.rows(ids)
            neighbours = reader.positions(({i - 1 for i in ids} | {i + 1 for i in ids}) - ids)
            neighbours.update({i: (r["article_id"], r["idx"]) for i, r in rows.items()})
            top_dense_article = rows[max(dense, key=dense.__getitem__)]["article_rowid"] if dense else None
            known, covered = keyword.coverage(reader.db, words, top_dense_article, reader.term_counts)
        ids_sorted = sorted(i for i in ids if i in rows)
        all_ids = np.asarray(sorted(neighbours), dtype=np.int64)
        position = {int(i): p for p, i in enumerate(all_ids)}
        vecs = reader.vectors.reconstruct_batch(all_ids)
        cand = np.asarray(ids_sorted, dtype=np.int64)
        cv = vecs[[position[int(i)] for i in cand]]
        window = cv.copy()
        for j, sid in enumerate(cand):
            article, idx = neighbours[int(sid)]
            for nid in (int(sid) - 1, int(sid) + 1):
                other = neighbours.get(nid)
                if other is not None and other[0] == article and abs(other[1] - idx) == 1:
                    window[j] += NEIGHBOUR_WEIGHT * vecs[position[nid]]
        art_rowids = np.asarray([rows[int(i)]["article_rowid"] for i in cand], dtype=np.int64)
        uniq_art, inverse = np.unique(art_rowids, return_inverse=True)
        art_vecs = reader.article_vectors.reconstruct_batch(uniq_art)
        qv = q[0]
        f_dense = cv @ qv
        f_window = _normalise(window) @ qv
        f_article = (art_vecs @ qv)[inverse]
        best_kw = max(kw.values(), default=0.0) or 1.0
        best_kw_art = max(kw_art.values(), default=0.0) or 1.0
        f_kw = np.asarray([kw.get(int(i), 0.0) for i in cand]) / best_kw
        f_kw_art = np.asarray([kw_art.get(int(a), 0.0) for a in art_rowids]) / best_kw_art
        wanted = answer_type(question)
        f_type = np.asarray([1.0 if wanted and wanted.search(rows[int(i)]["text"]) else 0.0 for i in cand])
        w = self.weights
        score = (w.dense * f_dense + w.keyword * f_kw + w.window * f_window + w.article * f_article
                 + w.article_kw * f_kw_art + w.type * f_type)
        order = np.argsort(-score, kind="stable")[:k]
        hits = [reader.hit(rows[int(cand[j])], float(score[j])) for j in order]
        top_dense = sorted(dense.values(), reverse=True)
        signals = {
            "max_dense": top_dense[0] if top_dense else 0.0,
            "top5_dense": float(np.mean(top_dense[:5])) if top_dense else 0.0,
            "max_article": float(art_scores[0][0]) if art_scores.size else 0.0,
            "max_bm25": max(kw.values(), default=0.0),
            "known": known,
            "covered": covered,
        }
        return Retrieved(hits, cv[order], signals)
