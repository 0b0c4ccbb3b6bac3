"""HTTP load benchmark: bounded concurrent clients against ``POST /api/v1/ask``.

Targets a running server (``--url``) or starts ``schaengel serve`` on a free loopback port over
an index (``--data-dir``, ingesting the sample corpus into a temporary index when omitted).
Reports requests/s, latency percentiles, status codes and errors to bench/results/load.json.

    .venv/bin/python bench/load.py --clients 10 --duration 20
    .venv/bin/python bench/load.py --url http://127.0.0.1:8000 --clients 20 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, serving, write_result

FALLBACK_QUESTIONS = [
    "Wie viel kostet der Neubau des Hallenbads im Auenpark?",
    "Welche Maßnahmen enthält das Radverkehrskonzept 2020?",
    "Wie teuer wird die Sanierung der Grundschule Am Mühlbach?",
]


def load_questions(limit: int = 40) -> list[str]:
    """Public, self-contained questions of the sample question set (follow-ups skipped)."""
    path = REPO / "eval" / "questions" / "sample.jsonl"
    questions: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item.get("audience", "public") == "public" and not item.get(
                "question", ""
            ).startswith(("Und ", "und ")):
                questions.append(item["question"])
    return questions[:limit] or FALLBACK_QUESTIONS


def _sample_index() -> Path:
    from chatbot.container import Container
    from chatbot.settings import Settings
    from ingest.pipeline import IngestPipeline
    from ingest.sources import discover_files

    data_dir = Path(tempfile.mkdtemp(prefix="schaengel-load-"))
    container = Container(Settings(data_dir=data_dir))
    sources, _ = discover_files([REPO / "samples" / "corpus"], "public")
    IngestPipeline(container.settings, container.store, container.embeddings).run(sources)
    return data_dir


@contextmanager
def started_server(data_dir: Path, workers: int, rate_limit: float) -> Iterator[str]:
    """``schaengel serve`` over ``data_dir`` on a free loopback port until the block ends."""
    env = {
        **os.environ,
        "SCHAENGEL_DATA_DIR": str(data_dir),
        "SCHAENGEL_RATE_LIMIT_PER_MINUTE": str(rate_limit),
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    with serving(env, workers) as (_, url):
        yield url


async def drive(
    url: str, clients: int, duration: float, questions: list[str], stream: bool
) -> dict[str, Any]:
    """Run ``clients`` closed-loop clients for ``duration`` seconds."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + duration
    counter = iter(range(10**9))
    bar = tqdm(total=round(duration), unit="s", desc=f"{clients} clients", leave=False)

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            question = questions[next(counter) % len(questions)]
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/api/v1/ask", json={"question": question, "stream": stream}
                )
                await response.aread()
                statuses[str(response.status_code)] += 1
                if response.status_code == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                elif "retry-after" in response.headers:
                    # A well-behaved client waits as told (429 rate limit, 503 overload).
                    await asyncio.sleep(min(float(response.headers["retry-after"]), 5.0))
            except httpx.HTTPError as exc:
                errors[exc.__class__.__name__] += 1

    async def ticker() -> None:
        last = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            now = time.monotonic()
            bar.update(round(now - last))
            last = now
            done = sum(statuses.values())
            bar.set_postfix(requests=done, errors=sum(errors.values()))

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await asyncio.gather(ticker(), *(client(http) for _ in range(clients)))
    elapsed = time.monotonic() - started
    bar.close()
    total = sum(statuses.values())
    ordered = sorted(latencies)

    def pct(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {
        "elapsed_s": round(elapsed, 1),
        "requests": total,
        "requests_per_s": round(total / elapsed, 2),
        "ok_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": {
            "p50": pct(50),
            "p95": pct(95),
            "p99": pct(99),
            "mean": round(statistics.fmean(ordered), 1) if ordered else None,
            "max": round(ordered[-1], 1) if ordered else None,
        },
        "status_counts": dict(sorted(statuses.items())),
        "errors": dict(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="A running server; default: start one on loopback.")
    parser.add_argument("--data-dir", type=Path, help="Index for the started server.")
    parser.add_argument("--clients", type=int, default=20, help="Concurrent clients.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of load.")
    parser.add_argument("--workers", type=int, default=1, help="Workers of the started server.")
    parser.add_argument(
        "--rate-limit", type=float, default=0, help="Per-minute limit of the started server."
    )
    parser.add_argument("--stream", action="store_true", help="Ask for Server-Sent Events.")
    parser.add_argument("--output", default="load", help="Result name under bench/results/.")
    args = parser.parse_args()
    questions = load_questions()

    def run(url: str) -> dict[str, Any]:
        httpx.post(f"{url}/api/v1/ask", json={"question": questions[0]}, timeout=120)  # warm-up
        return asyncio.run(drive(url, args.clients, args.duration, questions, args.stream))

    if args.url:
        result = run(args.url.rstrip("/"))
        server: dict[str, Any] = {"url": args.url, "started_by_benchmark": False}
    else:
        data_dir = args.data_dir or _sample_index()
        with started_server(data_dir, args.workers, args.rate_limit) as url:
            result = run(url)
        server = {
            "started_by_benchmark": True,
            "workers": args.workers,
            "rate_limit_per_minute": args.rate_limit,
            "index": "sample corpus" if not args.data_dir else str(args.data_dir),
        }
    write_result(
        args.output,
        {
            "endpoint": "POST /api/v1/ask" + (" (SSE)" if args.stream else ""),
            "clients": args.clients,
            "duration_s": args.duration,
            "questions": len(questions),
            "server": server,
            **result,
        },
    )


if __name__ == "__main__":
    main()
