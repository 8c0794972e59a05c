"""Turn a question into ranked, cited sentences. Free of Slack and terminal concerns."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from index.embedders import Embedder
from index.errors import QuestionError
from index.reader import IndexReader
from index.records import Hit

# Logistic calibration of the best cosine similarity into a confidence in [0, 1].
CONFIDENCE_MIDPOINT = 0.35
CONFIDENCE_SLOPE = 15.0


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

    @classmethod
    def from_hit(cls, hit: Hit) -> Citation:
        return cls(hit.article_id, hit.title, hit.source, hit.url, hit.published, hit.path,
                   hit.sentence_index, hit.char_start, hit.char_end)


@dataclass(frozen=True)
class Answer:
    text: str
    score: float
    citations: list[Citation]


@dataclass(frozen=True)
class Result:
    question: str
    abstained: bool
    confidence: float
    answers: list[Answer] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def validate_question(question: object, max_chars: int) -> str:
    """The question, whitespace-normalised; QuestionError with a clear message otherwise."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = " ".join(question.split())
    if not text:
        raise QuestionError("the question is empty; ask something like: citebot ask \"Who co-chaired the session?\"")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is too long ({len(text)} characters, limit {max_chars}); ask one short question"
        )
    return text


def confidence(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-(score - CONFIDENCE_MIDPOINT) * CONFIDENCE_SLOPE))


class Answerer:
    """Holds a loaded index and embedder; answers many questions without reloading either."""

    def __init__(self, reader: IndexReader, embedder: Embedder, *, top_k: int = 5,
                 abstain_below: float = 0.5, max_question_chars: int = 1000) -> None:
        reader.check_dimension(embedder.dimension)
        self.reader = reader
        self.embedder = embedder
        self.top_k = top_k
        self.abstain_below = abstain_below
        self.max_question_chars = max_question_chars

    def ask(self, question: str, top_k: int | None = None) -> Result:
        text = validate_question(question, self.max_question_chars)
        k = top_k or self.top_k
        vector = self.embedder.encode([text])[0]
        hits = self.reader.search(vector, k)
        best = hits[0].score if hits else 0.0
        conf = round(confidence(best), 4)
        answers = [Answer(h.text, round(h.score, 4), [Citation.from_hit(h)]) for h in hits]
        return Result(text, conf < self.abstain_below, conf, answers)
