"""What the Slack bot remembers: feedback votes, threads it answered, events it has seen.

Feedback and threads live in ``INDEX_DIR/bot.sqlite`` beside the index generations (those are
read-only snapshots, replaced on every build), so votes survive rebuilds and restarts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT, channel TEXT,
    question TEXT NOT NULL, answer_ids TEXT NOT NULL, vote INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL, thread_ts TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (channel, thread_ts)
);
"""


class BotState:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "bot.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(SCHEMA)

    def record_feedback(self, user: str | None, channel: str | None, question: str, answer_ids: list[str], vote: int) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO feedback (at, user, channel, question, answer_ids, vote) VALUES (datetime('now'),?,?,?,?,?)",
                (user, channel, question, json.dumps(answer_ids), vote),
            )

    def feedback(self) -> list[dict[str, object]]:
        with self._lock:
            rows = self._db.execute("SELECT user, channel, question, answer_ids, vote FROM feedback ORDER BY id").fetchall()
        return [{"user": u, "channel": c, "question": q, "answer_ids": json.loads(a), "vote": v} for u, c, q, a, v in rows]

    def remember_thread(self, channel: str, thread_ts: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO threads VALUES (?,?,?)", (channel, thread_ts, time.time()))

    def answered_thread(self, channel: str, thread_ts: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM threads WHERE channel=? AND thread_ts=?", (channel, thread_ts)).fetchone()
        return row is not None


class SeenEvents:
    """Event ids delivered recently: Slack retries a delivery it thinks failed, we answer once."""

    def __init__(self, ttl: float = 3600.0, capacity: int = 10_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str | None) -> bool:
        if not key:
            return True
        now = time.monotonic()
        with self._lock:
            while self._seen and (len(self._seen) >= self.capacity or next(iter(self._seen.values())) < now - self.ttl):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True
