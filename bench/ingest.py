"""Ingest throughput: documents/s, chunks/s, embedding share, no-change re-ingest, and the
embedding model's raw encode throughput on the same chunks (the ceiling for ingest).

    python bench/ingest.py [--copies 4]

The sample corpus is copied ``--copies`` times (renamed, so every copy is a new document).
Writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, Timer, write_result
from chatbot.container import Container
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files


def _corpus(target: Path, copies: int) -> Path:
    for i in range(copies):
        for path in (REPO / "samples" / "corpus").iterdir():
            shutil.copy(path, target / f"c{i}_{path.name}")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "corpus").mkdir()
        corpus = _corpus(Path(tmp) / "corpus", args.copies)
        settings = Settings(data_dir=Path(tmp) / "data")
        container = Container(settings)
        with Timer() as load:
            container.embeddings.embed_query("Aufwärmen")
        sources, _ = discover_files([corpus], "public")
        pipeline = IngestPipeline(settings, container.store, container.embeddings)
        with Timer() as first:
            report = pipeline.run(sources)
        with Timer() as again:
            unchanged = pipeline.run(discover_files([corpus], "public")[0])
        texts = [c.page_content for c in container.store.get_chunks()]
        with Timer() as raw:
            container.embeddings.embed_documents(texts)
    documents = report.new
    chunks = report.chunks_embedded
    write_result(
        "ingest",
        {
            "embedding_model": settings.embedding_model,
            "corpus": f"samples/corpus × {args.copies}",
            "documents": documents,
            "chunks": chunks,
            "model_load_seconds": round(load.seconds, 2),
            "ingest_seconds": round(first.seconds, 2),
            "documents_per_second": round(documents / first.seconds, 2),
            "chunks_per_second": round(chunks / first.seconds, 2),
            "embedding_seconds": round(report.embed_seconds, 2),
            "embedding_share": round(report.embed_seconds / first.seconds, 3),
            "raw_encode_chunks_per_second": round(len(texts) / raw.seconds, 2),
            "ingest_vs_raw_encode": round((chunks / first.seconds) / (len(texts) / raw.seconds), 3),
            "no_change_reingest_seconds": round(again.seconds, 2),
            "no_change_chunks_embedded": unchanged.chunks_embedded,
        },
    )


if __name__ == "__main__":
    main()
