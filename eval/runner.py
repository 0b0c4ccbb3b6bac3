"""Runs a question set through the same AskService as ``schaengel ask`` and grades every answer."""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tqdm import tqdm

from chatbot.container import Container
from chatbot.documents import DocumentService
from chatbot.domain import Audience
from chatbot.errors import ConfigurationError, SchaengelError
from chatbot.grounding import METHOD, SupportChecker
from chatbot.retrieval import HybridRetriever, SearchFilters
from chatbot.service import AskOptions, AskService
from eval.dataset import DocumentCatalog, EvalQuestion
from eval.metrics import (
    Observation,
    QuestionResult,
    SupportFn,
    compute_metrics,
    counts,
    grade,
)

log = logging.getLogger(__name__)

MAX_CHUNKS_FOR_RANKING = 200


@dataclass
class EvalRun:
    """The outcome of one evaluation: graded questions, metrics and the settings used."""

    results: list[QuestionResult]
    metrics: dict[str, float | None]
    counts: dict[str, int]
    settings: dict[str, Any]
    catalog: DocumentCatalog = field(default_factory=lambda: DocumentCatalog([]))


def document_ranking(
    retriever: HybridRetriever,
    query: str,
    *,
    audience: Audience,
    filters: SearchFilters,
    k: int,
) -> list[str]:
    """At least ``k`` distinct document ids (when the index has them), best first.

    Retrieval ranks chunks; several chunks of one document would crowd the top-k, so ask for
    more chunks until ``k`` distinct documents are found or the candidates run out.
    """
    chunk_k = max(4 * k, 20)
    while True:
        items = retriever.retrieve(query, audience=audience, filters=filters, k=chunk_k)
        ranking = list(dict.fromkeys(item.document_id for item in items))
        if len(ranking) >= k or len(items) < chunk_k or chunk_k >= MAX_CHUNKS_FOR_RANKING:
            return ranking
        chunk_k = min(2 * chunk_k, MAX_CHUNKS_FOR_RANKING)


class EvalRunner:
    """Asks every question with its audience, filters and history, then grades the answer."""

    def __init__(
        self,
        container: Container,
        *,
        k: int = 5,
        support: SupportFn | None = None,
        grounding_method: str = METHOD,
        progress: bool = True,
    ) -> None:
        if k < 1:
            raise ConfigurationError(f"k must be at least 1, got {k}")
        self.container = container
        self.k = k
        self.service = AskService(container)
        self.support = support or SupportChecker(container.embeddings).support
        self.grounding_method = grounding_method
        self.progress = progress

    def run(self, questions: Sequence[EvalQuestion], source: Path | None = None) -> EvalRun:
        """Answer and grade all questions; a failing question is recorded, not fatal."""
        self.service.backend.check_ready()
        catalog = DocumentCatalog.from_rows(DocumentService(self.container).list_sources())
        started = time.perf_counter()
        results: list[QuestionResult] = []
        bar = tqdm(
            questions,
            desc="eval",
            unit="Frage",
            file=sys.stderr,
            disable=not self.progress,
            dynamic_ncols=True,
        )
        for question in bar:
            bar.set_postfix_str(question.id, refresh=False)
            observation = self.observe(question)
            gold, unmatched = catalog.gold(question.expected_sources)
            results.append(
                grade(
                    question,
                    observation,
                    gold=gold,
                    unmatched_sources=unmatched,
                    k=self.k,
                    support=self.support,
                    label=catalog.label,
                )
            )
        settings = self.describe(source, catalog, questions)
        settings["seconds"] = round(time.perf_counter() - started, 2)
        return EvalRun(results, compute_metrics(results), counts(results), settings, catalog)

    def observe(self, question: EvalQuestion) -> Observation:
        """Ask one question through the AskService and collect what grading needs."""
        filters = question.search_filters()
        started = time.perf_counter()
        try:
            answer = self.service.ask(
                question.question,
                AskOptions(audience=question.audience, filters=filters, history=question.turns()),
            )
            latency = answer.timings_ms.get("total") or round(
                (time.perf_counter() - started) * 1000, 1
            )
            standalone = answer.standalone_question or question.question
            ranking = document_ranking(
                self.service.retriever,
                standalone,
                audience=question.audience,
                filters=filters,
                k=self.k,
            )
            chunk_ids = list(dict.fromkeys(c.chunk_id for c in answer.citations))
            chunks = self.container.store.get_chunks(ids=chunk_ids) if chunk_ids else []
        except ConfigurationError:
            raise
        except SchaengelError as exc:
            log.warning("question %s failed: %s", question.id, exc)
            return Observation(
                answer="",
                refused=True,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
                error=f"{type(exc).__name__}: {exc}",
            )
        return Observation(
            answer=answer.text,
            refused=answer.refused,
            citations=list(answer.citations),
            ranking=ranking,
            chunk_texts={str(c.id): c.page_content for c in chunks},
            latency_ms=float(latency),
            standalone_question=standalone,
        )

    def describe(
        self, source: Path | None, catalog: DocumentCatalog, questions: Sequence[EvalQuestion]
    ) -> dict[str, Any]:
        """The settings a report needs to be reproducible (never a secret)."""
        s = self.container.settings
        backend = self.service.backend
        if s.chroma_cloud_api_key:
            store = "chroma-cloud"
        elif s.chroma_host:
            store = f"chroma-server {s.chroma_host}:{s.chroma_port}"
        else:
            store = f"embedded {s.data_dir / 'chroma'}"
        return {
            "backend": backend.name,
            "model": backend.model_name or backend.name,
            "generative": backend.generative,
            "embedding_model": s.embedding_model,
            "k": self.k,
            "top_k": s.top_k,
            "fusion_weights": {"lexical": s.fusion_lexical_weight, "dense": s.fusion_dense_weight},
            "store": store,
            "collection": s.collection,
            "documents": len(catalog.documents),
            "question_file": str(source) if source else "",
            "question_file_sha256": _sha256(source),
            "questions": len(questions),
            "grounding_method": self.grounding_method,
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "schaengel_version": _version(),
        }


def _sha256(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _version() -> str:
    try:
        return version("schaengel")
    except PackageNotFoundError:
        return "unknown"
