"""What a question must be before anything is loaded to answer it (kept light: `citebot ask` checks a
question before it starts loading the models and the answering code)."""

from __future__ import annotations

from citebot.index.errors import QuestionError


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
