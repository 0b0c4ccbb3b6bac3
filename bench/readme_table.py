"""Print the README's benchmark section (Markdown) from bench/results/*.json.

    python bench/readme_table.py [--results bench/results]

A machine line, then one table per benchmark that has a result file; missing results are
skipped, so the section can be regenerated after running only some benchmarks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS

Row = list[str]


def table(header: Row, rows: list[Row]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _pct(latency: dict[str, Any]) -> str:
    return f"{_ms(latency.get('p50'))} / {_ms(latency.get('p95'))}"


def machine_line(results: dict[str, dict[str, Any]]) -> str:
    """Where the numbers come from (the machine of the newest result)."""
    newest = max(results.values(), key=lambda r: r.get("measured_at", ""))
    m = newest.get("machine", {})
    dates = sorted({r.get("measured_at", "")[:10] for r in results.values()} - {""})
    return (
        f"Measured on {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"{m.get('memory_gib', '?')} GiB, {'no GPU' if not m.get('gpu') else m['gpu']}, "
        f"Python {m.get('python', '?')} ({', '.join(dates)}); regenerate with `make bench` "
        "(scripts in `bench/`, results in `bench/results/`)."
    )


def ingest_section(r: dict[str, Any]) -> str:
    rows = [
        ["documents / chunks", f"{r['documents']} / {r['chunks']}"],
        [
            "throughput",
            f"{r['documents_per_second']} documents/s, {r['chunks_per_second']} chunks/s",
        ],
        ["time spent embedding", f"{r['embedding_share'] * 100:.0f} %"],
        [
            "raw embedding-model encode on the same chunks",
            f"{r['raw_encode_chunks_per_second']} chunks/s "
            f"(ingest reaches {r['ingest_vs_raw_encode'] * 100:.0f} % of it)",
        ],
        [
            "no-change re-ingest",
            f"{r['no_change_reingest_seconds']} s, "
            f"{r['no_change_chunks_embedded']} chunks embedded",
        ],
    ]
    return table([f"ingest (`bench/ingest.py`, {r.get('corpus', '')})", "value"], rows)


def retrieval_section(r: dict[str, Any]) -> str:
    rows: list[Row] = []
    for name, dataset in r.get("datasets", {}).items():
        for mode, m in dataset.get("modes", {}).items():
            rows.append(
                [
                    f"{name} ({dataset.get('questions', '?')} q.)",
                    mode,
                    f"{m['recall@1']:.3f}",
                    f"{m['recall@5']:.3f}",
                    f"{m['mrr@10']:.3f}",
                    _ms(m.get("latency_ms", {}).get("p50")),
                ]
            )
    weights = r.get("fusion_weights", {})
    header = [
        "retrieval (`bench/retrieval.py`)",
        "mode",
        "recall@1",
        "recall@5",
        "MRR@10",
        "p50 ms",
    ]
    sweep_rows = [
        [name, config, f"{m['recall@1']:.3f}", f"{m['recall@5']:.3f}", f"{m['mrr@10']:.3f}"]
        for name, dataset in r.get("datasets", {}).items()
        for config, m in dataset.get("fusion_weight_sweep", {}).items()
    ]
    gate = "gated by the BM25 margin" if weights.get("gate") else "plain"
    note = (
        f"\n\nHybrid = weighted reciprocal rank fusion, lexical {weights.get('lexical')} / dense "
        f"{weights.get('dense')}, k={weights.get('rrf_k', 60)}, {gate}; embedding model "
        f"{r.get('embedding_model')}; naive_langchain = RecursiveCharacterTextSplitter 1000/200 "
        "+ the same model + Chroma similarity_search k=4 (no filters)."
    )
    sweep = (
        "\n\n"
        + table(
            ["fusion alternatives", "lexical/dense, k", "recall@1", "recall@5", "MRR@10"],
            sweep_rows,
        )
        if sweep_rows
        else ""
    )
    return table(header, rows) + note + sweep


def scale_section(r: dict[str, Any]) -> str:
    rows: list[Row] = []
    for mode, result in r.get("modes", {}).items():
        for _size, s in result.get("sizes", {}).items():
            lat = s["latency_ms"]
            lexical = s["lexical_index"]
            rows.append(
                [
                    mode,
                    f"{s['chunks']:,}".replace(",", " "),
                    _pct(lat["lexical"]),
                    _pct(lat["dense"]),
                    _pct(lat["hybrid"]),
                    _pct(lat["ask"]),
                    f"{lexical['build_seconds']} s / {lexical['sync_one_document_seconds']} s",
                ]
            )
    header = [
        "scale (`bench/scale.py`)",
        "chunks",
        "lexical ms p50/p95",
        "dense",
        "hybrid",
        "full ask",
        "BM25 build / sync 1 doc",
    ]
    parts: list[Row] = []
    for mode, result in r.get("modes", {}).items():
        for _size, s in result.get("sizes", {}).items():
            lat = s["latency_ms"]
            parts.append(
                [
                    mode,
                    f"{s['chunks']:,}".replace(",", " "),
                    _ms(lat["part_query_embedding"]["p50"]),
                    _ms(lat["part_chroma_query"]["p50"]),
                    _ms(lat["part_bm25"]["p50"]),
                    _ms(lat["part_answer"]["p50"]),
                    _ms(lat["part_grounding_check"]["p50"]),
                ]
            )
    parts_header = [
        "where the time goes (p50 ms)",
        "chunks",
        "query embedding",
        "Chroma query",
        "BM25",
        "answer (extractive)",
        "grounding check",
    ]
    return (
        table(header, rows)
        + "\n\n"
        + table(parts_header, parts)
        + f"\n\n{r.get('questions')} questions per size; filler: {r.get('filler')}."
    )


def memory_section(r: dict[str, Any]) -> str:
    labels = {
        "embedded": "`schaengel serve`, embedded Chroma",
        "server_1_worker": "`schaengel serve`, Chroma server, 1 worker",
        "server_2_workers": "`schaengel serve --workers 2`, Chroma server (all processes)",
        "chroma_run": "`chroma run` with the sample corpus",
    }
    rows = []
    for key, label in labels.items():
        p = r.get("processes", {}).get(key)
        if p:
            rows.append([label, f"{p['total_rss_mib']:.0f} MiB", f"{p['peak_rss_mib']:.0f} MiB"])
    return table(["memory (`bench/memory.py`)", "RSS", "peak RSS (main process)"], rows)


def ask_latency_section(r: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{b['questions']} ({b['refused']} refused)",
            _pct(b["total_ms"]),
            _pct(b["retrieve_ms"]),
            _pct(b["generate_ms"]),
        ]
        for name, b in r["backends"].items()
    ]
    header = ["`ask` per backend (`bench/ask_latency.py`)", "questions", "total ms p50 / p95"]
    return table([*header, "retrieve", "generate"], rows)


def load_section(r: dict[str, Any]) -> str:
    lat = r.get("latency_ms", {})
    server = r.get("server", {})
    rows = [
        [
            "setup",
            f"{r['clients']} clients, {r['duration_s']:.0f} s, "
            f"{server.get('workers', '?')} worker(s), {r.get('endpoint')}",
        ],
        ["throughput", f"{r['requests_per_s']} requests/s ({r['ok_per_s']} OK/s)"],
        ["latency p50 / p95 / p99", f"{lat.get('p50')} / {lat.get('p95')} / {lat.get('p99')} ms"],
        ["status codes", ", ".join(f"{k}: {v}" for k, v in r.get("status_counts", {}).items())],
    ]
    return table(["HTTP load (`bench/load.py`)", "value"], rows)


SECTIONS: dict[str, Callable[[dict[str, Any]], str]] = {
    "ingest": ingest_section,
    "retrieval": retrieval_section,
    "ask_latency": ask_latency_section,
    "scale": scale_section,
    "memory": memory_section,
    "load": load_section,
}


def render(folder: Path) -> str:
    """The whole section from the result files in ``folder``."""
    results = {
        name: json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        for name in SECTIONS
        if (folder / f"{name}.json").exists()
    }
    if not results:
        return "No benchmark results yet: run `make bench`."
    parts = ["## Benchmarks", machine_line(results)]
    for name, section in SECTIONS.items():
        if name in results:
            try:
                parts.append(section(results[name]))
            except (KeyError, TypeError) as exc:  # an older result file of another shape
                parts.append(f"_{name}: result file not understood ({exc!r})_")
    return "\n\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(render(args.results), end="")


if __name__ == "__main__":
    main()
