"""Follow a folder of articles: debounce bursts of file events, wait for files to stop
changing (a copy or an editor still writing), then ingest the batch and log one line.

File events come from watchdog (inotify on Linux, with a polling fallback elsewhere). The
watcher listens before it scans the folder for the first time, so a file that arrives while
that scan (or any later write) runs waits in the queue and is ingested after it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from citebot.index.embed.embedders import Embedder
from citebot.index.errors import CitebotError
from citebot.index.lifecycle.sync import SyncReport, apply_changes, is_article_file, remember_folders, sync
from citebot.index.store.base import Store
from citebot.index.store.open import as_store

if TYPE_CHECKING:  # watchdog itself is imported when a watcher starts
    from watchdog.events import FileSystemEvent
    from watchdog.observers.api import BaseObserver

log = logging.getLogger("citebot.watch")
DEBOUNCE_SECONDS = 1.0  # quiet time after the last event before a batch is taken
SETTLE_SECONDS = 1.0  # a file must keep the same size and mtime this long to be read
MAX_WAIT_SECONDS = 60.0  # a file still changing after this long is read anyway


def signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class FolderWatcher:
    """Runs in a thread (or the foreground); ``on_batch`` sees each batch's report."""

    def __init__(self, folder: Path, store: Store | Path, embedder: Embedder,
                 on_batch: Callable[[SyncReport], None] | None = None,
                 debounce: float = DEBOUNCE_SECONDS, settle: float = SETTLE_SECONDS) -> None:
        self.folder = folder.resolve()
        self.store = as_store(store)
        self.embedder = embedder
        self.on_batch = on_batch
        self.debounce = debounce
        self.settle = settle
        self._pending: dict[Path, float] = {}  # path -> time first seen in this batch
        self._last_event = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: BaseObserver | None = None

    # watchdog callbacks (observer thread) ------------------------------------------------
    def _note(self, raw: str | bytes) -> None:
        path = Path(raw.decode() if isinstance(raw, bytes) else raw)
        if not is_article_file(path):
            return
        with self._lock:
            self._pending.setdefault(path, time.monotonic())
            self._last_event = time.monotonic()

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        self._note(event.src_path)
        if getattr(event, "dest_path", None):
            self._note(event.dest_path)

    # batching -----------------------------------------------------------------------------
    def _ready_batch(self) -> list[Path]:
        """Paths whose burst is over and whose content has stopped changing."""
        now = time.monotonic()
        with self._lock:
            if not self._pending or now - self._last_event < self.debounce:
                return []
            candidates = dict(self._pending)
        before = {path: signature(path) for path in candidates}
        time.sleep(min(self.settle, 0.25))
        ready = []
        for path, first_seen in candidates.items():
            sig = before[path]
            if sig is None or now - first_seen > MAX_WAIT_SECONDS:
                ready.append(path)  # deleted, or never settles: take it as it is
            elif signature(path) == sig and time.time() - sig[1] / 1e9 >= self.settle:
                ready.append(path)
        with self._lock:
            for path in ready:
                self._pending.pop(path, None)
        return ready

    def run_batch(self, paths: list[Path]) -> SyncReport | None:
        try:
            report = apply_changes(self.store, self.embedder, paths)
        except (CitebotError, OSError, sqlite3.Error) as exc:  # keep watching; the next change retries
            log.error("batch of %d file(s) not ingested: %s", len(paths), exc)
            with self._lock:
                for path in paths:
                    self._pending.setdefault(path, time.monotonic())
            return None
        return self._announce(report, "")

    def catch_up(self) -> SyncReport:
        """Mirror the folder once (changes made while nobody was watching)."""
        return self._announce(sync(self.store, self.embedder, self.folder), "initial sync: ")

    def _announce(self, report: SyncReport, label: str) -> SyncReport:
        """One log line per batch, and the caller's hook."""
        log.info("watch %s: %s%s", self.folder, label, report.summary())
        if self.on_batch:
            self.on_batch(report)
        return report

    def start(self, catch_up: bool = True) -> FolderWatcher:
        """Listen for file events, then (``catch_up``) mirror the folder once.

        The order matters: events that arrive during the first scan are queued in ``_pending``
        and handled by ``loop()`` after it, so nothing copied in during start-up is missed."""
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("created", "modified", "deleted", "moved", "closed"):
                    watcher.dispatch(event)

        self.folder.mkdir(parents=True, exist_ok=True)
        remember_folders(self.store, [self.folder])
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.folder), recursive=True)
        self._observer.start()  # returns once the inotify watches are in place
        log.info("watch %s: listening for new, changed and deleted articles", self.folder)
        if catch_up:
            self.catch_up()
        return self

    def loop(self, poll: float = 0.2) -> None:
        while not self._stop.is_set():
            batch = self._ready_batch()
            if batch:
                self.run_batch(batch)
            else:
                self._stop.wait(poll)

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)


def watch_in_thread(watcher: FolderWatcher, catch_up: bool = True) -> threading.Thread:
    """Start ``watcher`` (listening, then its first scan) and handle its batches in a daemon thread."""
    watcher.start(catch_up)
    thread = threading.Thread(target=watcher.loop, name="citebot-watch", daemon=True)
    thread.start()
    return thread
