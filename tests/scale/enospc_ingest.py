"""Run the ``schaengel`` CLI with a disk that fills up: the N-th chunk write to Chroma fails with
``OSError(ENOSPC)`` (what a full disk under Chroma's files looks like to the writer).

    python -m tests.scale.enospc_ingest N ingest CORPUS [OPTIONS]

The fault sits in the Chroma client's collection, below ``ChunkStore``, so the store's own
error handling is what the test exercises.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any


def fail_chunk_writes_from(nth: int) -> None:
    """Make the ``nth`` and every later upsert into a chunk collection raise ENOSPC."""
    from chromadb.api.models.Collection import Collection

    original = Collection.upsert
    calls = {"n": 0}

    def upsert(self: Collection, *args: Any, **kwargs: Any) -> None:
        if not self.name.endswith("-documents"):  # the registry is a separate, tiny write
            calls["n"] += 1
            if calls["n"] >= nth:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(self, *args, **kwargs)

    Collection.upsert = upsert  # type: ignore[method-assign]


def main() -> None:
    nth = int(sys.argv[1])
    fail_chunk_writes_from(nth)
    from chatbot.cli import app

    app(sys.argv[2:], prog_name="schaengel")


if __name__ == "__main__":
    main()
