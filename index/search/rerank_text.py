"""How a question and a candidate sentence are put before the reranker (shared by training and answering)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_LENGTH = 96  # tokens of "[CLS] question [SEP] title | sentence [SEP]"; longer pairs are cut, longest part first
WINDOW_LENGTH = 160  # the answerability model's: "[CLS] question [SEP] title | before sentence after [SEP]"
TITLE_WORDS = 12  # a headline is context, not the evidence: only its first words


def passage(sentence: str, title: str | None) -> str:
    """The second segment: the article's title (its first words) and the sentence."""
    if not title:
        return sentence
    words = title.replace("_", " ").split()
    return f"{' '.join(words[:TITLE_WORDS])} | {sentence}"


def window(sentence: str, before: str | None, after: str | None) -> str:
    """A sentence with its neighbours in the article: what the answerability model reads."""
    return " ".join(part for part in (before, sentence, after) if part)


def pair_tokenizer(path: str, max_length: int = MAX_LENGTH) -> Tokenizer:
    """The base model's fast tokenizer, set up for question/passage pairs."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length, strategy="longest_first")
    return tokenizer
