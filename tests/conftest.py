"""Shared fixtures. Unit tests use the deterministic fake embedder; tests marked ``model``
load the real sentence-transformers model once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.files import load
from citebot.index.store.writer import write

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "articles"
SEEDS = ROOT.parent / "shared" / "seeds"
FAKE_MODEL = "fake:hash-256"


@pytest.fixture(autouse=True)
def no_reranker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests answer with retrieval alone; tests of the reranker set CITEBOT_RERANKER themselves."""
    monkeypatch.setenv("CITEBOT_RERANKER", "none")


@pytest.fixture
def fake_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment for CLI runs: fake model, an index directory under tmp_path."""
    index_dir = tmp_path / "index"
    monkeypatch.setenv("CITEBOT_MODEL", FAKE_MODEL)
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(index_dir))
    monkeypatch.chdir(tmp_path)
    return index_dir


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder(256)


@pytest.fixture
def sample_index(tmp_path: Path, embedder: HashEmbedder) -> Path:
    articles, skipped = load([SAMPLES])
    assert not skipped
    directory = tmp_path / "index"
    write(directory, embedder, articles, fresh=True)
    return directory


@pytest.fixture(scope="session")
def real_embedder():  # type: ignore[no-untyped-def]
    from citebot.index.embed.embedders import DEFAULT_MODEL, make_embedder

    return make_embedder(DEFAULT_MODEL)


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    """A fake Slack (Web API + Socket Mode websocket) on 127.0.0.1 for one test."""
    from tests.fake_slack import FakeSlack

    slack = FakeSlack().start()
    yield slack
    slack.stop()


def seeds_or_skip() -> Path:
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not present (it lives beside the repository, not in it)")
    return SEEDS
