"""Feedback on answers in SQLite under the data directory, with a bounded retention.

Stored: the answer id, the rating, an optional comment, the audience and the day. Never an
address; the question text only when question logging is switched on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    audience TEXT NOT NULL,
    question TEXT,
    created_at TEXT NOT NULL
)
"""


class FeedbackStore:
    """Appends feedback rows; rows older than ``retention_days`` are deleted on each write."""

    def __init__(self, path: Path, retention_days: int) -> None:
        self.path = path
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(_SCHEMA)
            self._ready = True
        return connection

    def add(
        self,
        answer_id: str,
        rating: str,
        comment: str | None,
        audience: str,
        question: str | None = None,
    ) -> int:
        """Store one feedback row and return its id."""
        now = datetime.now(UTC)
        with self._lock:
            connection = self._connect()
            try:
                with connection:
                    connection.execute(
                        "DELETE FROM feedback WHERE created_at < ?",
                        ((now - self.retention).isoformat(timespec="seconds"),),
                    )
                    cursor = connection.execute(
                        "INSERT INTO feedback (answer_id, rating, comment, audience, question,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            answer_id,
                            rating,
                            comment or None,
                            audience,
                            question,
                            now.isoformat(timespec="seconds"),
                        ),
                    )
                return int(cursor.lastrowid or 0)
            finally:
                connection.close()

    def rows(self) -> list[dict[str, object]]:
        """All stored rows (for operators and tests)."""
        with self._lock:
            connection = self._connect()
            try:
                connection.row_factory = sqlite3.Row
                return [dict(r) for r in connection.execute("SELECT * FROM feedback ORDER BY id")]
            finally:
                connection.close()


class QuestionMemory:
    """Answer id → question for the last answers, kept only when question logging is on."""

    def __init__(self, enabled: bool, size: int = 1000) -> None:
        self.enabled = enabled
        self.size = size
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, answer_id: str, question: str) -> None:
        """Keep the question of an answer (no-op when disabled)."""
        if not self.enabled:
            return
        with self._lock:
            self._items[answer_id] = question
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def question(self, answer_id: str) -> str | None:
        """The question of a recent answer, if kept."""
        with self._lock:
            return self._items.get(answer_id)
