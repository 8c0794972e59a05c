"""Counted nouns for messages: "1 article", "2 articles", "0 sentences"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is 1 (``plural`` when the plural is not noun + s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
