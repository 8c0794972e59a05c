"""Shared fixtures. Unit tests use the deterministic fake embedder; tests marked ``model``
load the real sentence-transformers model once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from citebot.bot.config import Settings
from citebot.bot.service import AnswerService
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.ingest.files import load
from citebot.index.store.base import Store
from citebot.index.store.local.writer import write

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "articles"
SEEDS = ROOT.parent / "shared" / "seeds"
FAKE_MODEL = "fake:hash-256"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session's tests (real-model tests export into it once), not the user's."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def no_reranker(monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Unit tests answer with retrieval alone; tests of the reranker set CITEBOT_RERANKER themselves.
    Every test (and the processes it starts) uses the session's model cache."""
    monkeypatch.setenv("CITEBOT_RERANKER", "none")
    monkeypatch.setenv("CITEBOT_CACHE_DIR", str(model_cache))


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


class Stores:
    """Stores of one kind (``local`` or ``milvus`` on milvus-lite, the real engine in a file) under a test's
    tmp_path, closed after the test. Lifecycle and answer tests take the ``stores`` fixture and run on both."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind, self.root = kind, root
        self.opened: list[Store] = []

    def open(self, name: str = "ix") -> Store:
        from citebot.index.store.open import open_store

        store = open_store(self.kind, self.root / name, self.uri(name))
        self.opened.append(store)
        return store

    def uri(self, name: str = "ix") -> str | None:
        return str(self.root / name / "milvus.db") if self.kind == "milvus" else None

    def env(self, name: str = "ix") -> dict[str, str]:
        """The environment that points the CLI at the store ``name``."""
        env = {"CITEBOT_STORE": self.kind, "CITEBOT_INDEX_DIR": str(self.root / name)}
        if self.kind == "milvus":
            env["CITEBOT_MILVUS_URI"] = str(self.uri(name))
        return env

    def service(self, store: Store, model: str = FAKE_MODEL) -> AnswerService:
        """An answering service on ``store`` with the fake embedder (milvus-lite allows one client per file in a
        process, so the service shares the test's)."""
        settings = Settings(model=model, index_dir=store.workspace, reranker="none", store=self.kind,
                            milvus_uri=self.uri(store.workspace.name))
        service = AnswerService(settings, embedder_factory=lambda _: HashEmbedder(256))
        service.store = store
        return service

    def close(self) -> None:
        while self.opened:
            close = getattr(self.opened.pop(), "close", None)
            if close is not None:
                close()


@pytest.fixture(params=["local", "milvus"])
def stores(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run a test on each store."""
    if request.param == "milvus":
        pytest.importorskip("milvus_lite")
    opened = Stores(request.param, tmp_path)
    yield opened
    opened.close()
