"""The answering service a long-running process holds: model loaded once, index followed.

Each question checks (one small file read) whether a new index generation was published and,
if so, opens it; a question already running keeps the reader it started with, so it never sees
a mix of two generations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import numpy as np

from citebot.bot.answer import Answerer, Result
from citebot.bot.config import Settings, store_for
from citebot.index.embed.choose import query_embedder
from citebot.index.embed.embedders import Embedder, Progress
from citebot.index.errors import IndexCorrupt
from citebot.index.search.rerank import Reranker, make_reranker
from citebot.index.store.base import Reader, Status


class AnswerService:
    def __init__(self, settings: Settings, embedder_factory: Callable[[str], Embedder] | None = None,
                 reranker_factory: Callable[[], Reranker | None] | None = None) -> None:
        self.settings = settings
        self.store = store_for(settings)
        self._reranker_factory = reranker_factory or (lambda: make_reranker(settings.reranker, settings.cache_dir))
        self._reranker: Reranker | None = None
        self._reranker_loaded = False
        self._embedder_factory = embedder_factory or (
            lambda model: query_embedder(model, settings.cache_dir, settings.query_encoder))
        self._embedder: Embedder | None = None
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = self._embedder_factory(self.settings.model)
            return self._embedder

    def reranker(self) -> Reranker | None:
        with self._lock:
            if not self._reranker_loaded:
                self._reranker = self._reranker_factory()
                self._reranker_loaded = True
            return self._reranker

    def answerer(self) -> Answerer:
        """The Answerer for the live generation (raises IndexMissing when there is none)."""
        live = self.store.live()
        current = self._answerer
        if current is not None and live == current.reader.generation:
            return current
        reader = self._open_reader()
        answerer = Answerer(reader, _Locked(self.embedder(), self._encode_lock), top_k=self.settings.top_k,
                            abstain_below=self.settings.abstain_below,
                            max_question_chars=self.settings.max_question_chars,
                            reranker=self.reranker())  # ONNX Runtime sessions are safe across threads
        with self._lock:
            self._answerer = answerer
        return answerer

    def _open_reader(self, attempts: int = 5) -> Reader:
        """Open the live generation; if writers published and pruned it meanwhile, open the newer one."""
        for _ in range(attempts - 1):
            before = self.store.live()
            try:
                return self.store.reader(self.settings.model)
            except IndexCorrupt:
                if self.store.live() == before:
                    raise  # really damaged, not replaced under our feet
        return self.store.reader(self.settings.model)

    def ask(self, question: str, top_k: int | None = None, as_of: date | None = None) -> Result:
        return self.answerer().ask(question, top_k=top_k, as_of=as_of or self.settings.as_of)

    def stats(self) -> Status | None:
        """Manifest figures of the live index, None when there is no index."""
        return self.store.status()

    def coverage(self) -> tuple[tuple[date, date] | None, list[str]]:
        """The live generation's publication dates (earliest, latest) and its outlets (for the App Home)."""
        reader = self.answerer().reader
        return reader.date_span(), reader.outlets()


class _Locked:
    """An embedder whose encode calls are serialised (one model, many Slack worker threads)."""

    def __init__(self, inner: Embedder, lock: threading.Lock) -> None:
        self.inner = inner
        self.lock = lock
        self.name = inner.name
        self.dimension = inner.dimension

    @property
    def encoded(self) -> int:
        return self.inner.encoded

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        with self.lock:
            return self.inner.encode(texts, progress=progress)
