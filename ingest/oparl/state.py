"""What one OParl source's sync remembers between runs, written atomically after every page.

Per body: the ``modified_since`` cursor (the start time of the last complete sync) and, while
a sync is under way or was interrupted, where to resume. Per paper: the ids of its file
documents (so that a deleted paper takes all of them along). Per document: the fingerprint
it was ingested with (so that unchanged files are not even downloaded). And the papers to
fetch again because the server failed on them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chatbot.errors import IngestWriteError

STATE_VERSION = 1


@dataclass
class BodyState:
    """Sync progress of one Body's paper list."""

    cursor: str | None = None
    """Start time of the last complete sync: the next one asks for ``modified_since`` it."""
    resume_url: str | None = None
    """The list page to continue with after an interrupted or failed sync."""
    resume_started: str | None = None
    """Start time of the sync that is being resumed: it becomes the cursor when it completes."""


@dataclass
class SyncState:
    """Everything remembered about one OParl source (one System or Body URL)."""

    url: str
    bodies: dict[str, BodyState] = field(default_factory=dict)
    papers: dict[str, list[str]] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    retry: list[str] = field(default_factory=list)
    path: Path | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, data_dir: Path, url: str) -> SyncState:
        """The state of ``url`` under ``data_dir/oparl``, or a fresh one."""
        path = state_path(data_dir, url)
        if not path.exists():
            return cls(url=url, path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IngestWriteError(f"unreadable OParl sync state {path}: {exc}") from None
        if data.get("version") != STATE_VERSION:
            raise IngestWriteError(f"OParl sync state {path} has an unknown version")
        return cls(
            url=data["url"],
            bodies={k: BodyState(**v) for k, v in data.get("bodies", {}).items()},
            papers={k: list(v) for k, v in data.get("papers", {}).items()},
            fingerprints=dict(data.get("fingerprints", {})),
            retry=list(data.get("retry", [])),
            path=path,
        )

    def body(self, body_id: str) -> BodyState:
        """The progress of one body (created on first use)."""
        return self.bodies.setdefault(body_id, BodyState())

    def documents_only_of(self, paper_id: str, document_ids: list[str]) -> list[str]:
        """Those of ``document_ids`` that no other paper references (a File can serve several)."""
        others = {d for p, ids in self.papers.items() if p != paper_id for d in ids}
        return [d for d in document_ids if d not in others]

    def save(self) -> None:
        """Write the state atomically: a crash leaves the previous or the new file, never half."""
        assert self.path is not None
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "url": self.url,
            "bodies": {k: asdict(v) for k, v in self.bodies.items()},
            "papers": self.papers,
            "fingerprints": self.fingerprints,
            "retry": self.retry,
        }
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, ensure_ascii=False, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
            raise IngestWriteError(f"writing the OParl sync state failed: {exc}") from None


def state_path(data_dir: Path, url: str) -> Path:
    """``data_dir/oparl/<sha1 of the URL>.json``."""
    return data_dir / "oparl" / f"{hashlib.sha1(url.encode()).hexdigest()}.json"
