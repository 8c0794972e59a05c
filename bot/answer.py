"""Turn a question into ranked, cited answers. Free of Slack and terminal concerns.

Retrieval is hybrid (index/search/hybrid.py); a cross-encoder then rereads the top candidates with
the question (index/search/rerank.py). Sentences from different articles that state the same thing
are grouped into one answer with several citations (corroboration); the confidence that the
articles answer the question at all comes from bot/confidence.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date

import numpy as np

from citebot.bot import timeline
from citebot.bot.confidence import confidence, default_threshold
from citebot.bot.language import detect as detect_language
from citebot.bot.questions import validate_question
from citebot.bot.scope import Scope, scope_of
from citebot.index.embed.embedders import Embedder
from citebot.index.ingest.answer_types import answer_type
from citebot.index.ingest.words import terms
from citebot.index.records import Hit
from citebot.index.search.hybrid import HybridSearch, Retrieved, acronyms, missing, names
from citebot.index.search.rerank import Reranker, answerable, rerank
from citebot.index.search.values import value_conflict
from citebot.index.store.base import Filter, Reader

NO_ANSWER = "The articles do not answer this question."  # said by every front end when abstaining

# Grouping: same numbers, and similar enough meaning.
GROUP_COSINE = 0.80  # sentences without figures must be near-paraphrases
GROUP_COSINE_WITH_FIGURES = 0.65  # sentences sharing the same figures may differ more in wording
GROUP_POOL = 30  # ranked sentences considered for grouping
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    path: str | None
    sentence_index: int
    char_start: int
    char_end: int
    text: str = ""  # the cited sentence (equal to the answer's text for the first citation)
    verbatim: bool = False  # the same words appear in another citation of this answer (wire copy)

    @classmethod
    def from_hit(cls, hit: Hit, verbatim: bool = False) -> Citation:
        return cls(hit.article_id, hit.title, hit.source, hit.url, hit.published, hit.path,
                   hit.sentence_index, hit.char_start, hit.char_end, hit.text, verbatim)


@dataclass(frozen=True)
class Context:
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Answer:
    text: str
    score: float
    citations: list[Citation]
    sources: int = 1  # distinct articles reporting it
    context: Context = field(default_factory=Context)
    rerank: float | None = None  # the reranker's logit for the first citation's sentence ("it answers")
    retrieval: float | None = None  # the hybrid retrieval score before reranking
    as_of: str | None = None  # "as of 7 Aug 2025 (Reuters)": the newest report of a value that changed over time


@dataclass(frozen=True)
class Result:
    question: str
    abstained: bool
    confidence: float
    answers: list[Answer] = field(default_factory=list)
    signals: dict[str, float] = field(default_factory=dict)  # what the confidence was computed from
    generation: int = 0  # the index generation that answered
    language: str = "en"  # the question's language (bot/language.py); only English questions are answered
    notice: str | None = None  # why there is no answer, when it is not that the articles do not answer
    filters: dict[str, object] | None = None  # the dates and outlets the question was limited to (bot/scope.py)
    timeline: list[dict[str, object]] = field(default_factory=list)  # the first answer's fact over time, newest first
    conflict: list[dict[str, object]] = field(default_factory=list)  # same-day sources that disagree (bot/timeline.py)
    caution: str | None = None  # the question names a date the answers do not match (bot/timeline.py)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def no_answer(self) -> str:
        """The sentence that stands in for an answer."""
        return self.notice or NO_ANSWER


def figures(text: str) -> frozenset[str]:
    return frozenset(n.replace(",", "") for n in NUMBER.findall(text))


def group_cosine(shared_figures: frozenset[str]) -> float:
    """How similar two sentences with these same figures must be to state the same fact."""
    return GROUP_COSINE_WITH_FIGURES if shared_figures else GROUP_COSINE


def same_fact(a: str, b: str, cosine: float) -> bool:
    """Two sentences state the same fact: same figures, and close in meaning (the rule group() applies)."""
    fa, fb = figures(a), figures(b)
    return fa == fb and cosine >= group_cosine(fa)


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[\"'\u201c\u201d\u2018\u2019]", "", text).lower().split())


def group(retrieved: Retrieved) -> list[list[int]]:
    """Indexes of the ranked hits, grouped: each group is one fact reported by several articles.

    Single linkage over the first GROUP_POOL hits, in rank order: a hit joins the earliest group
    holding a sentence with the same figures and enough similarity, unless that group already
    cites the hit's article; later hits stay on their own."""
    hits = retrieved.hits
    pool = min(len(hits), GROUP_POOL)
    keys: dict[frozenset[str], int] = {}
    kinds = np.asarray([keys.setdefault(figures(h.text), len(keys)) for h in hits[:pool]], dtype=np.int64)
    limit = np.asarray([group_cosine(k) for k in keys])[kinds] if pool else np.zeros(0)
    vectors = retrieved.vectors[:pool]
    linked = (((vectors @ vectors.T) >= limit[:, None]) & (kinds[:, None] == kinds[None, :])).tolist()  # i may join j
    groups: list[list[int]] = []
    articles: list[set[str]] = []  # the articles already in each group (one citation per article)
    group_of: list[int] = []
    for i, hit in enumerate(hits):
        home = -1
        if i < pool:
            row = linked[i]
            for g in sorted({group_of[j] for j in range(i) if row[j]}):
                if hit.article_id not in articles[g] and groups[g][0] < pool:
                    home = g
                    break
        if home < 0:
            home = len(groups)
            groups.append([])
            articles.append(set())
        groups[home].append(i)
        articles[home].add(hit.article_id)
        group_of.append(home)
    return groups


def evidence_signals(reader: Reader, question: str, retrieved: Retrieved) -> dict[str, float]:
    """Do the candidates hold what was asked? Over the articles of the sentences the reranker read,
    ``names_missing_any``: the share of what the question names (people, places, numbers) that the
    article mentioning most of it still lacks (title included; an acronym also counts as mentioned
    spelled out, "EU" as "European Union"); ``words_missing_any``: the same for
    the question's content words, stemmed (a word counts when an article word starts with its stem). And
    ``type_missing``: 1 when the question wants a type (a person, a date, a figure) that the likeliest
    answer (the sentence the reranker scored best) does not carry. ``value_conflict``: 1 when that sentence is
    about another instance than the one asked about, "the 11th session" (or "the session" of an article
    that reports the 11th) for "the 10th session" (index/search/values.py)."""
    scored = [h for h in retrieved.hits if "rerank" in h.extra]
    if not scored:
        return {}
    best = max(scored, key=lambda h: float(h.extra["rerank"]))
    texts: dict[str, str] = {}
    for h in scored:
        if h.article_id not in texts:
            texts[h.article_id] = f"{h.title or ''}\n{reader.article_body(h.article_id) or h.text}"
    wanted = answer_type(question)
    carried = int(reader.flags_of(np.asarray([best.sentence_id], dtype=np.int64))[0])
    asked, spelled, stems = names(question), acronyms(question), terms(question)
    return {"value_conflict": float(value_conflict(question, best.text, texts[best.article_id])),
            "names_missing_any": min(missing(asked, t, spelled=spelled) for t in texts.values()),
            "words_missing_any": min(missing(stems, t, whole_words=False) for t in texts.values()),
            "type_missing": float(bool(wanted) and not carried & wanted)}


def citations_for(hits: list[Hit]) -> list[Citation]:
    """One citation per hit; ``verbatim`` marks those whose words another citation repeats."""
    if len(hits) == 1:
        return [Citation.from_hit(hits[0])]
    texts = [normalised(h.text) for h in hits]
    return [Citation.from_hit(h, verbatim=texts.count(t) > 1) for h, t in zip(hits, texts, strict=True)]


class Answerer:
    """Holds a loaded index and embedder; answers many questions without reloading either."""

    def __init__(self, reader: Reader, embedder: Embedder, *, top_k: int = 5,
                 abstain_below: float | None = None, max_question_chars: int = 1000,
                 reranker: Reranker | None = None) -> None:
        reader.check_dimension(embedder.dimension)
        self.reader = reader
        self.embedder = embedder
        self.search = HybridSearch(reader)
        self.top_k = top_k
        self.abstain_below = default_threshold() if abstain_below is None else abstain_below
        self.max_question_chars = max_question_chars
        self.reranker = reranker

    def ask(self, question: str, top_k: int | None = None, *, as_of: date | None = None, since: date | None = None,
            until: date | None = None, sources: Sequence[str] = (), literal: bool = False) -> Result:
        """Answer ``question`` from the articles it is about: those between ``since`` and ``until`` and from
        ``sources`` when given, or as its own words say ("this week", "from Reuters"; resolved against
        ``as_of``, today when not given; ``literal``: the words are only searched, never taken as filters)."""
        text = validate_question(question, self.max_question_chars)
        language = detect_language(text)
        k = top_k or self.top_k
        scope, searched = scope_of(text, self.reader.outlets(), as_of or date.today(), since, until, sources, literal)
        where = scope.where or None
        if where is not None and not self.allowed(where).size:
            if scope.phrase and not scope.where.sources and self.reader.date_span() is None:
                scope, searched, where = Scope(), text, None  # undated articles: the phrase is part of what is asked
            else:
                return self.outside(text, scope)
        if scope.unknown:
            return self.outside(text, scope)
        retrieved = self.search.search(searched, lambda: self.embedder.encode([searched])[0], max(GROUP_POOL, k * 4), where)
        if self.reranker is not None:
            retrieved = rerank(searched, retrieved, self.reranker)
            retrieved.signals.update(evidence_signals(self.reader, searched, retrieved))
            if self.reranker.answerability is not None:
                retrieved.signals["answerable"] = answerable(self.reader, self.reranker.answerability, searched, retrieved)
        members = group(retrieved)[:k]
        groups = [[retrieved.hits[i] for i in m] for m in members]
        contexts = self.reader.contexts([hits[0].sentence_id for hits in groups])
        answers = [Answer(hits[0].text, round(hits[0].score, 4), citations_for(hits), len({h.article_id for h in hits}),
                          Context(*context), _rounded(hits[0].extra.get("rerank")), _rounded(hits[0].extra.get("retrieval")))
                   for hits, context in zip(groups, contexts, strict=True)]
        answers, history, disagree = over_time(answers, retrieved.vectors[[m[0] for m in members]] if members else retrieved.vectors[:0],
                                               searched)
        conf = round(confidence(retrieved.signals), 4)
        signals = {k: round(float(v), 4) for k, v in retrieved.signals.items()}
        filters = scope.to_dict() if where is not None else None
        if not language.english:  # the models read English: show what is closest, answer nothing
            return Result(text, True, conf, answers, signals, self.reader.manifest.generation, language.code, language.notice(),
                          filters, history, disagree)
        caution = timeline.date_caution(searched, [(" ".join(t for t in (a.context.before, a.text, a.context.after) if t),
                                                     [c.published for c in a.citations]) for a in answers[:3]])
        return Result(text, conf < self.abstain_below, conf, answers, signals, self.reader.manifest.generation, filters=filters,
                      timeline=history, conflict=disagree, caution=caution)

    def allowed(self, where: Filter) -> np.ndarray:
        allowed = self.reader.allowed_articles(where)
        return np.zeros(0, np.int64) if allowed is None else allowed

    def outside(self, question: str, scope: Scope) -> Result:
        """No article is in the question's scope: say so, and what the index does hold."""
        outlets = self.reader.outlets()
        if scope.unknown:
            held = ", ".join(outlets[:12]) + (", ..." if len(outlets) > 12 else "") if outlets else "none named"
            notice = f"No articles from {' or '.join(scope.unknown)} in the index (its outlets: {held})."
        else:
            span = self.reader.date_span()
            held = (f" (it holds articles from {span[0].day} {span[0]:%b %Y} to {span[1].day} {span[1]:%b %Y})" if span
                    else " (its articles have no dates)")
            notice = f"No articles {scope.label()} in the index{held}."
        return Result(question, True, 0.0, [], {}, self.reader.manifest.generation, notice=notice, filters=scope.to_dict())


def over_time(answers: list[Answer], vectors: np.ndarray, question: str
              ) -> tuple[list[Answer], list[dict[str, object]], list[dict[str, object]]]:
    """The answers with the newest report of a changing value first (marked "as of"), the first answer's
    fact over time (newest first) and same-day disagreements (bot/timeline.py)."""
    present = timeline.asks_about_now(question)
    entries = timeline.build([a.text for a in answers], vectors, [[(c.published, c.source) for c in a.citations] for a in answers],
                             present)
    if not entries and present and answers:
        return within_first(answers)
    if not entries:
        return answers, [], []
    order = timeline.newest_first(list(range(len(answers))), entries)
    newest = entries[0].answer
    reordered = [replace(answers[i], as_of=timeline.as_of_label(entries[0])) if i == newest else answers[i] for i in order]
    return reordered, timeline.as_dicts(entries), timeline.conflicts(entries)


def within_first(answers: list[Answer]) -> tuple[list[Answer], list[dict[str, object]], list[dict[str, object]]]:
    """For a question about the present: when the first answer's citations (close enough in meaning to be
    grouped) give other values on other dates ("Anna Berg is the chief executive" / "Lars Holm is ..."), the
    newest citation leads the answer, marked "as of", and the values form the timeline."""
    first = answers[0]
    entries = timeline.build_from_citations([(c.text or first.text, c.published, c.source) for c in first.citations])
    if not entries:
        return answers, [], []
    newest = first.citations[entries[0].answer]
    citations = sorted(first.citations, key=lambda c: c.published or "", reverse=True)
    lead = replace(first, text=newest.text or first.text, citations=citations, as_of=timeline.as_of_label(entries[0]))
    return [lead, *answers[1:]], timeline.as_dicts(entries), timeline.conflicts(entries)


def _rounded(value: object) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) else None
