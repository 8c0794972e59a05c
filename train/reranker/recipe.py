"""The training recipe: hyperparameters, the tasks, and the records a training example is made of."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from citebot.index.search.rerank_text import MAX_LENGTH, WINDOW_LENGTH

SHARED = Path(__file__).resolve().parents[3] / "shared" / "eval"  # ../shared/eval beside the repository
FROZEN = 2  # layers below this are frozen and cached (--frozen)
RANK, ALPHA = 16, 32
SEED = 13
BATCH = 32
LISTWISE = 0.0  # weight of the per-question softmax loss beside the BCE (--listwise)
IMPOSSIBLE_WEIGHT = 2.0  # answerability task: loss weight of a written-to-be-unanswerable question's windows
UNRELATED_SHARE = 0.3  # answerability task: share of answerable questions also paired with another article's window
SWAP_SHARE, NEGATION_SHARE = 0.5, 0.2  # answerability task: shares of answerable questions also made unanswerable
SPAN = 0.5  # weight of the answer-span loss beside the BCE (--span; the head is a training aid, not shipped)
ARTICLE_NEGATIVES = 2  # rank task: closest sentences of other paragraphs of the question's article, as negatives
ARTICLE_WEIGHT = 1.0  # rank task: their loss weight
EPOCHS = 2  # passes over the pairs in the rank task (--epochs; the answer task makes one)
SPAN_TOKENS = 30  # longest answer span the span score considers
AUXILIARY = re.compile(r"\b(?:did|does|do|was|were|is|are|has|have|had|can|could|will|would)\b")
TASKS = {"rank": ("reranker", MAX_LENGTH), "answer": ("answerability", WINDOW_LENGTH)}  # artifact name, tokens


@dataclass
class Pair:
    question: str
    text: str
    label: int
    group: str  # the article (fold unit)
    qid: str
    impossible: bool
    kind: str = "pair"  # answerability task: gold, impossible, own-other, elsewhere, unrelated, swap, negation
    weight: float = 1.0
    span: tuple[int, int] | None = None  # a positive pair's answer, as characters of ``text`` (--span)
    source: str | None = None  # another article's passage (--crowd-negatives, the answer task's unrelated windows): its
    # article; a fold run holding that article out leaves the pair out


@dataclass(frozen=True)
class Recipe:
    """The rank task's negatives from the question's own article (--hard)."""

    article_negatives: int = ARTICLE_NEGATIVES
    article_weight: float = ARTICLE_WEIGHT
    impossible_weight: float = 1.0  # a written-to-be-unanswerable question's pairs
    skip_answer_text: bool = False  # leave out other paragraphs' sentences that contain a gold answer's text
    other_articles: int = 0  # the closest sentences of other articles without a gold answer's text (--crowd-negatives)


HARD = Recipe(article_negatives=3, article_weight=2.0, impossible_weight=2.0, skip_answer_text=True)
STANDARD = Recipe()  # the recipe as shipped
