"""Memory: resident set size (RSS) of ``schaengel serve`` with its models loaded, embedded and
against a Chroma server (1 and 2 workers), and of ``chroma run`` holding the sample corpus.

    python bench/memory.py [--questions 5]

Each server is measured after /readyz says ready and a few questions were answered (so the
embedding model, the lexical index and the answer path are all in memory). RSS is read from
/proc (current and peak, VmHWM) for the process and its worker children.
Writes bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, serving, write_result
from bench.load import load_questions
from bench.scale import chroma_server
from chatbot.container import Container
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        found: list[int] = []
        for task in tasks:
            text = (task / "children").read_text().split()
            found.extend(int(c) for c in text)
        return found
    except OSError:
        return []


def process_memory(pid: int) -> dict[str, Any]:
    """RSS and peak RSS (MiB) of a process and of each of its children."""

    def mib(kib: int) -> float:
        return round(kib / 1024, 1)

    children = _children(pid)
    rss = {str(p): mib(_status_kib(p, "VmRSS")) for p in [pid, *children]}
    return {
        "rss_mib": mib(_status_kib(pid, "VmRSS")),
        "peak_rss_mib": mib(_status_kib(pid, "VmHWM")),
        "children_rss_mib": [rss[str(c)] for c in children],
        "total_rss_mib": round(sum(rss.values()), 1),
    }


def _env(**settings: Any) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    env["SCHAENGEL_RATE_LIMIT_PER_MINUTE"] = "0"
    env.update({f"SCHAENGEL_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def measure_serve(env: dict[str, str], workers: int, questions: list[str]) -> dict[str, Any]:
    """Start, warm up with questions (spread over the workers), measure, stop."""
    with serving(env, workers) as (process, url):
        for question in questions * workers:
            httpx.post(f"{url}/api/v1/ask", json={"question": question}, timeout=120)
        return {"workers": workers, **process_memory(process.pid)}


def _ingest(settings: Settings) -> int:
    container = Container(settings)
    sources, _ = discover_files([REPO / "samples" / "corpus"], "public")
    report = IngestPipeline(settings, container.store, container.embeddings).run(sources)
    return report.chunks_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=5)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    tmp = Path(tempfile.mkdtemp(prefix="schaengel-memory-"))
    results: dict[str, Any] = {}
    try:
        embedded = tmp / "embedded"
        chunks = _ingest(Settings(data_dir=embedded))
        results["embedded"] = measure_serve(_env(data_dir=embedded), 1, questions)
        with chroma_server(tmp / "chroma") as server:
            remote = {k: v for k, v in server.items() if k.startswith("chroma_")}
            _ingest(Settings(data_dir=tmp / "server", collection="memory", **remote))
            env = _env(data_dir=tmp / "server", collection="memory", **remote)
            results["server_1_worker"] = measure_serve(env, 1, questions)
            results["server_2_workers"] = measure_serve(env, 2, questions)
            results["chroma_run"] = process_memory(int(server["pid"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_result(
        "memory",
        {
            "embedding_model": Settings().embedding_model,
            "answer_backend": "extractive",
            "corpus": "samples/corpus",
            "chunks": chunks,
            "questions_before_measuring": len(questions),
            "processes": results,
        },
    )


if __name__ == "__main__":
    main()
