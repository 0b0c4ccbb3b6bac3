"""`ask` latency per answer backend on the sample corpus's question set.

    python bench/ask_latency.py [--local-questions 10]

extractive: every question of eval/questions/sample.jsonl. local: the packaged Gemma 3 270M
GGUF in-process (first N questions). openai and aleph-alpha: the local fake servers from
tests/fakes (wire-format exact, instant answers), so those rows measure Schängel's own overhead
around a remote model, not a model. Writes bench/results/ask_latency.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, free_port, percentiles, write_result
from chatbot.answer.base import Turn
from chatbot.container import Container
from chatbot.service import AskOptions, AskService
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files
from tests.conftest import wait_for_port

TOKEN = "bench-token"


def _questions() -> list[dict[str, Any]]:
    path = REPO / "eval" / "questions" / "sample.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _measure(container: Container, questions: list[dict[str, Any]], label: str) -> dict[str, Any]:
    service = AskService(container)
    totals: list[float] = []
    generate: list[float] = []
    retrieve: list[float] = []
    refused = 0
    for row in tqdm(questions, desc=label, unit="Frage"):
        options = AskOptions(
            audience=row.get("audience", "public"),
            history=[Turn(q) for q in row.get("history", [])],
        )
        started = time.perf_counter()
        answer = service.ask(row["question"], options)
        totals.append((time.perf_counter() - started) * 1000)
        generate.append(answer.timings_ms.get("generate", 0.0))
        retrieve.append(answer.timings_ms.get("retrieve", 0.0))
        refused += answer.refused
    return {
        "questions": len(questions),
        "refused": refused,
        "total_ms": percentiles(totals),
        "retrieve_ms": percentiles(retrieve),
        "generate_ms": percentiles(generate),
    }


def _fake_server(module: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"tests.fakes.{module}", "--port", str(port), "--token", TOKEN],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process=process)
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--local-questions", type=int, default=10)
    args = parser.parse_args()
    questions = _questions()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp) / "data")
        container = Container(base)
        IngestPipeline(base, container.store, container.embeddings).run(
            discover_files([REPO / "samples" / "corpus"], "public")[0]
        )
        container.embeddings.embed_query("Aufwärmen")
        results["extractive"] = _measure(container, questions, "extractive")

        local = Container(base.model_copy(update={"answer_backend": "local"}))
        local.backend.check_ready()
        results["local (Gemma 3 270M GGUF)"] = _measure(
            local, questions[: args.local_questions], "local"
        )

        openai, port = _fake_server("openai_server")
        try:
            remote = base.model_copy(
                update={
                    "answer_backend": "openai",
                    "openai_base_url": f"http://127.0.0.1:{port}/v1",
                    "openai_api_key": SecretStr(TOKEN),
                }
            )
            results["openai (local fake server)"] = _measure(Container(remote), questions, "openai")
        finally:
            openai.terminate()
        aleph, port = _fake_server("aleph_alpha_server")
        try:
            remote = base.model_copy(
                update={
                    "answer_backend": "aleph-alpha",
                    "aleph_alpha_host": f"http://127.0.0.1:{port}",
                    "aleph_alpha_token": SecretStr(TOKEN),
                }
            )
            results["aleph-alpha (local fake server)"] = _measure(
                Container(remote), questions, "aleph-alpha"
            )
        finally:
            aleph.terminate()
    write_result("ask_latency", {"backends": results})


if __name__ == "__main__":
    main()
