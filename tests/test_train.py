"""The training script's data helpers (train/reranker/train.py; torch is installed by ./setup.sh)."""

from __future__ import annotations

import importlib.util
import random
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def train():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("citebot_train", ROOT / "train" / "reranker" / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["citebot_train"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_swapped_replaces_a_name_with_one_the_window_never_mentions(train) -> None:  # type: ignore[no-untyped-def]
    window = "Tesla moved to New York in 1884 to work for Edison."
    pool = ["Edison", "Paris", "1882", "Tesla", "Westinghouse", "1884"]
    seen = set()
    for seed in range(40):
        changed = train.swapped("When did Tesla move to New York in 1884?", window, pool, random.Random(seed))
        assert changed is not None and changed != "When did Tesla move to New York in 1884?"
        seen.add(changed)
        assert "Edison" not in changed  # the window mentions him: swapping him in would still be answerable
    assert "When did Westinghouse move to New York in 1884?" in seen
    assert "When did Tesla move to New York in 1882?" in seen  # a number only for a number
    assert all("1884" in s or "1882" in s for s in seen)  # the year is only ever swapped for another year
    assert train.swapped("what is it?", window, pool, random.Random(0)) is None  # names nothing
    assert train.swapped("When did Tesla move?", window, ["Tesla", "Edison"], random.Random(0)) is None


def test_negated_puts_not_after_the_first_auxiliary(train) -> None:  # type: ignore[no-untyped-def]
    assert train.negated("What was the name of the ship?") == "What was not the name of the ship?"
    assert train.negated("When did the strike end?") == "When did not the strike end?"
    assert train.negated("Who won?") is None


def test_window_of_a_paragraph_keeps_its_neighbours_and_title(train) -> None:  # type: ignore[no-untyped-def]
    paragraph = {"title": "Super_Bowl_50", "sentences": ["A one.", "B two.", "C three."]}
    assert train.window_of(paragraph, 0) == "Super Bowl 50 | A one. B two."
    assert train.window_of(paragraph, 1) == "Super Bowl 50 | A one. B two. C three."
    assert train.window_of(paragraph, 2) == "Super Bowl 50 | B two. C three."
