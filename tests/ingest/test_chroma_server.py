"""The same ingest and retrieval code path against a real ``chroma run`` server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chatbot.container import Container
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files
from tests.ingest.test_pipeline import BV_TEXT, ST_TEXT

pytestmark = pytest.mark.slow


def test_ingest_and_search_through_a_chroma_server(
    make_settings: Callable[..., Settings], chroma_server: dict[str, Any], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bv.txt").write_text(BV_TEXT, encoding="utf-8")
    (corpus / "st.txt").write_text(ST_TEXT, encoding="utf-8")
    settings = make_settings(
        chroma_host=chroma_server["host"],
        chroma_port=chroma_server["port"],
        collection="server-ingest-test",
    )
    container = Container(settings)
    sources, _ = discover_files([corpus], "public")
    pipeline = IngestPipeline(settings, container.store, container.embeddings, show_progress=False)
    first = pipeline.run(sources)
    assert first.new == 2 and first.chunks_embedded > 0
    assert pipeline.run(sources).chunks_embedded == 0

    # Nothing was written locally: the data lives in the server's directory.
    assert not (settings.data_dir / "chroma").exists()
    reader = Container(settings)  # a second process's view, e.g. an API worker
    hits = reader.retriever.retrieve("Brücke Mühlbach Kosten", k=3)
    assert hits and hits[0].chunk.metadata["reference"] == "BV/0201/2024"
    assert {r.metadata.reference for r in reader.store.documents().values()} == {
        "BV/0201/2024",
        "ST/0020/2025",
    }
