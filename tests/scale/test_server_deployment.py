"""The scaled-out deployment: one ``chroma run``, ``schaengel serve --workers 2`` and a separate
``schaengel ingest`` process; every worker sees a finished ingest within a bounded time."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scale.conftest import (
    ServeProcess,
    council_document,
    ingest,
    poll,
    server_env,
    write_base_corpus,
)

pytestmark = pytest.mark.slow

NEW_REFERENCE = "BV/0399/2025"
QUESTION = "Wie viel kostet die Seilbahn zum Schlossberg?"
SYNC_LOG = "lexical index synced"
WARM = "warm-up finished"


def _cites_new_document(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    body = response.json()
    return not body["refused"] and any(s["reference"] == NEW_REFERENCE for s in body["sources"])


def _listed_references(server: ServeProcess) -> set[str]:
    response = httpx.get(f"{server.url}/api/v1/documents", params={"limit": 100}, timeout=30)
    assert response.status_code == 200, response.text
    return {item["reference"] for item in response.json()["items"]}


def test_every_worker_sees_a_finished_ingest_of_a_separate_process(
    tmp_path: Path, chroma_server: dict[str, Any], serve: Callable[..., ServeProcess]
) -> None:
    env = server_env(tmp_path / "data", chroma_server)
    corpus = write_base_corpus(tmp_path / "corpus")
    ingest(corpus, env)
    server = serve(env, workers=2)
    workers = 2
    # /readyz answers from whichever worker accepts; wait for both workers' warm-up.
    poll(lambda: server.logs().count(WARM) == workers, 60, "a worker did not warm up")
    logs_before = server.logs()
    # Each worker synced its lexical index once, at warm-up.
    assert logs_before.count(SYNC_LOG) == workers, logs_before[-3000:]
    assert not _cites_new_document(server.ask(QUESTION))
    assert NEW_REFERENCE not in _listed_references(server)

    (corpus / "BV-0399-2025.txt").write_text(
        council_document(
            NEW_REFERENCE,
            "02.04.2025",
            "Bau einer Seilbahn zum Schlossberg",
            ["Die Seilbahn zum Schlossberg kostet nach der Kostenschätzung 7,3 Mio. Euro."],
        ),
        encoding="utf-8",
    )
    assert '"new": 1' in ingest(corpus, env).stdout  # a process of its own, then finished

    seen_by: list[bool] = []

    def all_workers_current() -> bool:
        # Parallel requests on fresh connections: uvicorn's workers accept from one socket.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: server.ask(QUESTION), range(8)))
        seen_by.append(all(_cites_new_document(a) for a in answers))
        synced_after_ingest = server.logs()[len(logs_before) :].count(SYNC_LOG)
        # One sync line per worker for the new generation: both workers have loaded it.
        return seen_by[-1] and synced_after_ingest >= workers

    poll(all_workers_current, 30, "not every worker answered from the new document", 0.2)
    # Once current, answers stay current (no worker falls back to the old index).
    for _ in range(3):
        assert all_workers_current()
    assert server.logs()[len(logs_before) :].count(SYNC_LOG) == workers
    for _ in range(6):  # every worker lists it, too (the list reads the shared store)
        assert NEW_REFERENCE in _listed_references(server)
    assert "Traceback" not in server.logs()
