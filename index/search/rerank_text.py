"""How a question and a candidate sentence are put before the reranker (shared by training and answering)."""

from __future__ import annotations

MAX_LENGTH = 96  # tokens of "[CLS] question [SEP] title | sentence [SEP]"; longer pairs are cut, longest part first
TITLE_WORDS = 12  # a headline is context, not the evidence: only its first words


def passage(sentence: str, title: str | None) -> str:
    """The second segment: the article's title (its first words) and the sentence."""
    if not title:
        return sentence
    words = title.replace("_", " ").split()
    return f"{' '.join(words[:TITLE_WORDS])} | {sentence}"


def pair_tokenizer(path: str):  # type: ignore[no-untyped-def]
    """The base model's fast tokenizer, set up for question/passage pairs."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_LENGTH, strategy="longest_first")
    return tokenizer
