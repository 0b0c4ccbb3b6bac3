"""Retrieval quality and latency: dense-only, BM25-only and hybrid side by side, plus the naive
pipeline a newcomer builds from the LangChain tutorial (RecursiveCharacterTextSplitter
1000/200, the same embedding model, Chroma ``similarity_search`` k=4).

    python bench/retrieval.py [--germanquad-limit N] [--fusion 1.0,0.3,60,gate 1.0,1.0,60,plain …]

Question sets: the sample corpus's (eval/questions/sample.jsonl, answerable questions with
their audience and filters), the Koblenz documents in ../shared (bench/questions/koblenz.jsonl)
and GermanQuAD (../shared/datasets/germanquad; deepset, CC BY 4.0) when present. Reports
recall@1, recall@5 and MRR@10 over documents, and latency. Writes bench/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, SHARED, percentiles, write_result
from chatbot.container import Container
from chatbot.domain import Audience
from chatbot.retrieval import SearchFilters
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files

MODES = ("dense", "lexical", "hybrid")


@dataclass
class Question:
    """A benchmark question with the documents that answer it."""

    text: str
    gold: set[str]
    audience: Audience = "public"
    filters: SearchFilters = field(default_factory=SearchFilters)


@dataclass
class Dataset:
    """A corpus folder and its questions; gold entries name files (basename) or references."""

    name: str
    corpus: Path
    questions: list[Question]


def _filters(raw: dict[str, Any]) -> SearchFilters:
    types = raw.get("type")
    return SearchFilters(
        doc_types=[types] if isinstance(types, str) else list(types or []),
        committee=raw.get("committee"),
        since=date.fromisoformat(raw["since"]) if raw.get("since") else None,
        until=date.fromisoformat(raw["until"]) if raw.get("until") else None,
        reference=raw.get("reference"),
    )


def _jsonl_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if not row.get("answerable", True) or not row.get("expected_sources"):
            continue
        text = row["question"]
        if row.get("history"):
            # Retrieval is measured on the standalone question, as the service condenses it.
            from chatbot.answer.base import Turn
            from chatbot.condense import condense_rule_based

            text = condense_rule_based(text, [Turn(q) for q in row["history"]])
        questions.append(
            Question(
                text,
                set(row["expected_sources"]),
                row.get("audience", "public"),
                _filters(row.get("filters") or {}),
            )
        )
    return questions


def _germanquad(tmp: Path, limit: int | None) -> Dataset | None:
    folder = SHARED / "datasets" / "germanquad"
    if not folder.exists():
        return None
    corpus = tmp / "germanquad"
    corpus.mkdir()
    for line in (folder / "germanquad_contexts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        (corpus / f"{row['context_id']}.txt").write_text(row["text"], encoding="utf-8")
    questions = []
    for line in (folder / "germanquad_test.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        questions.append(Question(row["question"], {f"{row['context_id']}.txt"}))
    return Dataset("germanquad", corpus, questions[:limit] if limit else questions)


def datasets(tmp: Path, germanquad_limit: int | None) -> list[Dataset]:
    """The question sets available on this machine."""
    found = [
        Dataset(
            "sample",
            REPO / "samples" / "corpus",
            _jsonl_questions(REPO / "eval" / "questions" / "sample.jsonl"),
        )
    ]
    koblenz = SHARED / "corpus" / "koblenz"
    if koblenz.exists():
        found.append(
            Dataset("koblenz", koblenz, _jsonl_questions(REPO / "bench/questions/koblenz.jsonl"))
        )
    gq = _germanquad(tmp, germanquad_limit)
    if gq:
        found.append(gq)
    return found


def _score(ranked: list[str], gold: set[str]) -> tuple[float, float, float]:
    """recall@1, recall@5, reciprocal rank within the top 10 (document level)."""
    rank = next((i + 1 for i, doc in enumerate(ranked[:10]) if doc in gold), None)
    return (
        float(rank == 1),
        float(rank is not None and rank <= 5),
        1.0 / rank if rank else 0.0,
    )


def _evaluate(
    questions: list[Question], search: Callable[[Question], list[str]], label: str
) -> dict[str, Any]:
    r1 = r5 = mrr = 0.0
    latencies: list[float] = []
    for question in tqdm(questions, desc=label, unit="Frage", leave=False):
        started = time.perf_counter()
        ranked = search(question)
        latencies.append((time.perf_counter() - started) * 1000)
        a, b, c = _score(ranked, question.gold)
        r1, r5, mrr = r1 + a, r5 + b, mrr + c
    n = max(1, len(questions))
    return {
        "recall@1": round(r1 / n, 3),
        "recall@5": round(r5 / n, 3),
        "mrr@10": round(mrr / n, 3),
        "latency_ms": percentiles(latencies),
    }


def _doc_keys(container: Container) -> dict[str, set[str]]:
    """Document id → the names a gold entry may use: file basename and reference number."""
    keys: dict[str, set[str]] = {}
    for record in container.store.documents().values():
        names = {Path(record.metadata.source).name, record.document_id}
        if record.metadata.reference:
            names.add(record.metadata.reference)
        keys[record.document_id] = names
    return keys


def _ranked_documents(results: list[Any]) -> list[str]:
    """Distinct document ids in rank order."""
    ranked: list[str] = []
    seen: set[str] = set()
    for item in results:
        document_id = item.chunk.metadata["document_id"]
        if document_id not in seen:
            seen.add(document_id)
            ranked.append(document_id)
    return ranked


def _gold_ids(question: Question, keys: dict[str, set[str]]) -> set[str]:
    return {doc for doc, names in keys.items() if names & question.gold}


@dataclass(frozen=True)
class Fusion:
    """A rank-fusion configuration to compare: weights, RRF k and whether BM25 gates dense."""

    lexical: float
    dense: float
    rrf_k: int
    gate: bool

    @classmethod
    def parse(cls, text: str) -> Fusion:
        """From "lexical,dense[,k[,gate|plain]]"."""
        parts = text.split(",")
        return cls(
            float(parts[0]),
            float(parts[1]),
            int(parts[2]) if len(parts) > 2 else 60,
            (parts[3] if len(parts) > 3 else "gate") == "gate",
        )

    def __str__(self) -> str:
        return f"{self.lexical}/{self.dense} k={self.rrf_k} {'gate' if self.gate else 'plain'}"


def run_dataset(dataset: Dataset, tmp: Path, fusions: list[Fusion]) -> dict[str, Any]:
    """Index one corpus with the real pipeline and measure every retrieval mode on it."""
    settings = Settings(data_dir=tmp / f"data-{dataset.name}")
    container = Container(settings)
    sources, _ = discover_files([dataset.corpus], "public")
    report = IngestPipeline(settings, container.store, container.embeddings).run(sources)
    keys = _doc_keys(container)
    questions = [
        Question(q.text, _gold_ids(q, keys), q.audience, q.filters) for q in dataset.questions
    ]
    retriever = container.retriever
    result: dict[str, Any] = {
        "documents": report.new,
        "chunks": report.chunks_written,
        "questions": len(questions),
        "modes": {},
    }
    for mode in MODES:
        result["modes"][mode] = _evaluate(
            questions,
            lambda q, mode=mode: _ranked_documents(
                retriever.retrieve(q.text, audience=q.audience, filters=q.filters, k=20, mode=mode)
            ),
            f"{dataset.name}/{mode}",
        )
    sweep = {}
    for fusion in fusions:
        retriever.lexical_weight, retriever.dense_weight = fusion.lexical, fusion.dense
        retriever.rrf_k, retriever.gate = fusion.rrf_k, fusion.gate
        sweep[str(fusion)] = _evaluate(
            questions,
            lambda q: _ranked_documents(
                retriever.retrieve(q.text, audience=q.audience, filters=q.filters, k=20)
            ),
            f"{dataset.name}/hybrid {fusion}",
        )
    if sweep:
        result["fusion_weight_sweep"] = sweep
    result["modes"]["naive_langchain"] = _naive(dataset, questions, container)
    return result


def _naive(dataset: Dataset, questions: list[Question], container: Container) -> dict[str, Any]:
    """The tutorial pipeline: raw loader text, 1000/200 character chunks, similarity_search k=4."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from ingest.loaders.base import load_file

    by_source = {
        Path(r.metadata.source).name: doc_id for doc_id, r in container.store.documents().items()
    }
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    documents = []
    for path in sorted(dataset.corpus.iterdir()):
        if path.name not in by_source:
            continue
        raw = load_file(path)
        text = "\n".join(page.text for page in raw.pages)
        documents.extend(
            splitter.split_documents(
                [Document(page_content=text, metadata={"document_id": by_source[path.name]})]
            )
        )
    store = Chroma(
        collection_name=f"naive-{dataset.name}",
        embedding_function=container.embeddings,
        client=container.store.client,
    )
    for start in range(0, len(documents), 2000):
        store.add_documents(documents[start : start + 2000])

    def search(question: Question) -> list[str]:
        hits = store.similarity_search(question.text, k=4)
        return list(dict.fromkeys(h.metadata["document_id"] for h in hits))

    result = _evaluate(questions, search, f"{dataset.name}/naive")
    result["chunks"] = len(documents)
    result["note"] = "no audience or metadata filters: the tutorial pipeline has none"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--germanquad-limit", type=int, default=None)
    parser.add_argument(
        "--fusion",
        nargs="*",
        default=["1.0,0.3,60,plain", "1.0,1.0,60,plain", "1.0,1.0,60,gate", "1.0,0.5,20,gate"],
        help="extra fusion configurations (lexical,dense,k,gate|plain) to compare",
    )
    args = parser.parse_args()
    fusions = [Fusion.parse(f) for f in args.fusion]
    tmp = Path(tempfile.mkdtemp(prefix="schaengel-bench-"))
    try:
        results = {
            dataset.name: run_dataset(dataset, tmp, fusions)
            for dataset in datasets(tmp, args.germanquad_limit)
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    defaults = Settings()
    write_result(
        "retrieval",
        {
            "embedding_model": defaults.embedding_model,
            "fusion_weights": {
                "lexical": defaults.fusion_lexical_weight,
                "dense": defaults.fusion_dense_weight,
                "rrf_k": defaults.fusion_rrf_k,
                "gate": defaults.fusion_gate,
            },
            "datasets": results,
        },
    )


if __name__ == "__main__":
    main()
