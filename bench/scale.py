"""Retrieval latency as the index grows: 1k, 10k and 100k chunks, embedded and server mode.

    python bench/scale.py [--sizes 1000,10000,100000] [--modes embedded,server] [--queries 30]

The sample corpus is ingested with the real embedding model so that the questions are real;
the index is then filled up with synthetic German filler (sentences of the sample corpus,
recombined; 10 chunks per document) written straight through ChunkStore with random unit
vectors of the model's dimension, and registered as documents so that the registry and the
lexical index see them like any other. Measured per size: p50/p95 of lexical, dense and
hybrid retrieval and of a full ask (extractive backend), where the time goes (query
embedding, Chroma query, BM25, answer), and how long the lexical index takes to build from
nothing and to sync one small change. Server mode starts ``chroma run`` on a free loopback
port. Writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, free_port, percentiles, write_result
from bench.load import load_questions
from chatbot.container import Container
from chatbot.domain import DocumentMetadata
from chatbot.lexical import LexicalIndex, LexicalIndexManager
from chatbot.retrieval import SearchFilters, build_where
from chatbot.service import AskService
from chatbot.settings import Settings
from chatbot.store import DocumentRecord
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files

CHUNKS_PER_DOCUMENT = 10
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


@contextmanager
def chroma_server(path: Path) -> Iterator[dict[str, Any]]:
    """``chroma run`` on a free loopback port until the block ends."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    port = free_port()
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chroma run did not start")
            time.sleep(0.2)
        yield {"chroma_host": "127.0.0.1", "chroma_port": port, "pid": process.pid}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


class Filler:
    """Synthetic German documents recombined from the sample corpus's sentences."""

    def __init__(self, sentences: list[str], dimensions: int, seed: int = 7) -> None:
        self.sentences = sentences
        self.dimensions = dimensions
        self.random = random.Random(seed)
        self.numpy = np.random.default_rng(seed)
        self.documents = 0

    def write(self, container: Container, chunks: int) -> None:
        """Add ``chunks`` filler chunks (whole documents of 10) to the store and registry."""
        store = container.store
        ids: list[str] = []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        records: list[DocumentRecord] = []
        for _ in range(max(1, chunks // CHUNKS_PER_DOCUMENT)):
            n = self.documents
            self.documents += 1
            content_hash = hashlib.sha256(f"filler-{n}".encode()).hexdigest()[:32]
            metadata = DocumentMetadata(
                document_id=f"filler-{n:06d}",
                title=" ".join(self.random.choice(self.sentences).split()[:6]),
                doc_type="Unterrichtungsvorlage",
                type_code="UV",
                reference=f"UV/{n % 10000:04d}/{1990 + n // 10000}",
                date=f"{2000 + n % 24}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                visibility="public",
                source=f"filler/{n}.txt",
                content_hash=content_hash,
            )
            for index in range(CHUNKS_PER_DOCUMENT):
                ids.append(f"{metadata.document_id}:{content_hash[:12]}:{index:04d}")
                texts.append(" ".join(self.random.sample(self.sentences, 5)))
                metadatas.append(metadata.chunk_metadata(page=1, section="", index=index))
            records.append(DocumentRecord(metadata, CHUNKS_PER_DOCUMENT, "filler"))
        vectors = self.numpy.standard_normal((len(ids), self.dimensions)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.upsert_chunks(ids, texts, metadatas, vectors.tolist())
        for record in records:  # the registry makes them documents, as an ingest would
            store.commit_document(record)
        store.bump_generation()


def _sentences(container: Container) -> list[str]:
    found: set[str] = set()
    for chunk in container.store.iter_chunks():
        for sentence in _SENTENCE.split(" ".join(chunk.page_content.split())):
            if 40 <= len(sentence) <= 300:
                found.add(sentence)
    return sorted(found)


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return (time.perf_counter() - started) * 1000, result


def measure(container: Container, questions: list[str]) -> dict[str, Any]:
    """Latency of each retrieval mode, a full ask, and its parts, at the current size."""
    retriever = container.retriever
    embeddings = container.embeddings
    store = container.store
    where = build_where(SearchFilters(), "public")
    service = AskService(container)
    for question in questions[:2]:  # warm caches (term arrays, HNSW pages) before timing
        service.ask(question)
    series: dict[str, list[float]] = {
        k: []
        for k in (
            "lexical",
            "dense",
            "hybrid",
            "ask",
            "part_query_embedding",
            "part_chroma_query",
            "part_bm25",
            "part_answer",
            "part_grounding_check",
        )
    }
    search = store.vectorstore.similarity_search_by_vector_with_relevance_scores
    for question in questions:
        for mode in ("lexical", "dense", "hybrid"):
            ms, _ = _timed(partial(retriever.retrieve, question, k=6, mode=mode))
            series[mode].append(ms)
        ms, answer = _timed(partial(service.ask, question))
        series["ask"].append(ms)
        timings = answer.timings_ms
        series["part_answer"].append(timings.get("generate", 0.0))
        series["part_grounding_check"].append(
            max(0.0, timings.get("total", 0.0) - timings.get("retrieve", 0.0))
            - timings.get("generate", 0.0)
        )
        ms, vector = _timed(partial(embeddings.embed_query, question))
        series["part_query_embedding"].append(ms)
        ms, _ = _timed(partial(search, vector, k=40, filter=where))
        series["part_chroma_query"].append(ms)
        index = retriever.lexical.index()
        ms, _ = _timed(partial(index.search, question, 40, where))
        series["part_bm25"].append(ms)
    return {name: percentiles(values) for name, values in series.items()}


def lexical_timings(container: Container, filler: Filler) -> dict[str, float]:
    """Build the lexical index from nothing (a new worker), then sync one small ingest."""
    store = container.store
    manager = LexicalIndexManager(store, None, refresh_seconds=0.0)
    started = time.perf_counter()
    index = manager.sync(LexicalIndex(), store.generation())
    build = time.perf_counter() - started
    filler.write(container, CHUNKS_PER_DOCUMENT)  # one new document, as a small ingest adds
    started = time.perf_counter()
    manager.sync(index, store.generation())
    sync = time.perf_counter() - started
    started = time.perf_counter()
    store.generation()
    check = time.perf_counter() - started
    return {
        "build_seconds": round(build, 2),
        "sync_one_document_seconds": round(sync, 3),
        "generation_check_ms": round(check * 1000, 2),
        "chunks_indexed": len(index),
    }


def run_mode(mode: str, sizes: list[int], questions: list[str], tmp: Path) -> dict[str, Any]:
    """Ingest the sample corpus, then grow the index through ``sizes`` and measure each."""
    with contextlib_for(mode, tmp) as server:
        settings = Settings(
            data_dir=tmp / f"data-{mode}",
            collection=f"scale-{mode}",
            **{k: v for k, v in server.items() if k.startswith("chroma_")},
        )
        container = Container(settings)
        sources, _ = discover_files([REPO / "samples" / "corpus"], "public")
        pipeline = IngestPipeline(settings, container.store, container.embeddings)
        started = time.perf_counter()
        report = pipeline.run(sources)
        ingest_seconds = time.perf_counter() - started
        dimensions = len(container.embeddings.embed_query("Probe"))
        filler = Filler(_sentences(container), dimensions)
        results: dict[str, Any] = {
            "sample_chunks": report.chunks_written,
            "sample_ingest_seconds": round(ingest_seconds, 1),
            "sizes": {},
        }
        for size in sizes:
            missing = size - container.store.count_chunks()
            started = time.perf_counter()
            if missing > 0:
                filler.write(container, missing)
            fill_seconds = time.perf_counter() - started
            print(f"[{mode}] {container.store.count_chunks()} chunks", file=sys.stderr)
            lexical = lexical_timings(container, filler)
            started = time.perf_counter()
            container.retriever.lexical.index()  # the service's own index catches up
            catch_up = time.perf_counter() - started
            latency = measure(container, questions)
            results["sizes"][str(size)] = {
                "chunks": container.store.count_chunks(),
                "documents": len(container.store.documents()),
                "filler_write_seconds": round(fill_seconds, 1),
                "lexical_index": {**lexical, "service_catch_up_seconds": round(catch_up, 2)},
                "latency_ms": latency,
                "benchmark_process_rss_mib": _rss_mib(),
            }
        return results


@contextmanager
def contextlib_for(mode: str, tmp: Path) -> Iterator[dict[str, Any]]:
    """Nothing for embedded mode; a started ``chroma run`` for server mode."""
    if mode == "server":
        with chroma_server(tmp / "chroma-server") as server:
            yield server
    else:
        yield {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--modes", default="embedded,server")
    parser.add_argument("--queries", type=int, default=30, help="Questions per size and mode.")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    questions = load_questions(args.queries)
    tmp = Path(tempfile.mkdtemp(prefix="schaengel-scale-"))
    started = time.perf_counter()
    try:
        modes = {m: run_mode(m, sizes, questions, tmp) for m in args.modes.split(",")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(
        "scale",
        {
            "embedding_model": Settings().embedding_model,
            "answer_backend": "extractive",
            "questions": len(questions),
            "filler": "sample-corpus sentences recombined, random unit vectors, "
            f"{CHUNKS_PER_DOCUMENT} chunks per document",
            "modes": modes,
            "total_seconds": round(time.perf_counter() - started, 1),
        },
    )


if __name__ == "__main__":
    main()
