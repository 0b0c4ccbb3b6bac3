"""Run an ingest that kills its own process (SIGKILL) at a chosen write: for crash tests.

    python -m tests.ingest.crash_ingest POINT N DATA_DIR CORPUS

POINT is ``upsert`` (after the N-th chunk write) or ``commit`` (after the N-th registry write).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from chatbot.container import Container
from chatbot.settings import Settings
from chatbot.store import ChunkStore
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files


def _kill_after(method: str, limit: int) -> None:
    original = getattr(ChunkStore, method)
    calls = {"n": 0}

    def wrapped(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] >= limit:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(ChunkStore, method, wrapped)


def main() -> None:
    point, count, data_dir, corpus = sys.argv[1:5]
    _kill_after({"upsert": "upsert_chunks", "commit": "commit_document"}[point], int(count))
    settings = Settings(data_dir=Path(data_dir), embedding_model="hashing:256")
    container = Container(settings)
    sources, _ = discover_files([Path(corpus)], "public")
    IngestPipeline(settings, container.store, container.embeddings, show_progress=False).run(
        sources
    )


if __name__ == "__main__":
    main()
