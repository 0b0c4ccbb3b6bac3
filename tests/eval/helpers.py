"""Hand-made answers, citations and questions for the evaluation tests (no model, no index)."""

from __future__ import annotations

from typing import Any

from chatbot.domain import Citation
from chatbot.grounding import SupportChecker
from eval.dataset import EvalQuestion
from eval.metrics import Observation, QuestionResult, grade

SUPPORT = SupportChecker(None).support  # offline lexical check, no embedding model

PASSAGES = {
    "bv-1": "Die Gesamtkosten der Sanierung der Grundschule Am Mühlbach betragen 14,1 Mio. Euro.",
    "bv-2": "Die Bauarbeiten beginnen am 14.10.2024 und enden im Sommer 2026.",
    "ni-1": "Der Stadtrat beschließt die Sanierung mit 38 Ja-Stimmen bei 4 Enthaltungen.",
    "uv-1": "Die Machbarkeitsstudie nennt für einen Neubau Kosten von 13,2 Mio. Euro.",
}
DOCUMENTS = {"bv-1": "BV", "bv-2": "BV", "ni-1": "NI", "uv-1": "UV"}


def citation(n: int, chunk_id: str) -> Citation:
    """A citation [n] of one of the PASSAGES."""
    document = DOCUMENTS[chunk_id]
    return Citation(
        n=n,
        document_id=document,
        chunk_id=chunk_id,
        title=f"{document} title",
        reference=f"{document}/0001/2024",
        date="2024-03-21",
        doc_type=document,
        page=None,
        source=f"/corpus/{document}-0001-2024.pdf",
        url="",
        score=0.5,
        snippet=PASSAGES[chunk_id][:40],
    )


def question(qid: str = "q1", **fields: Any) -> EvalQuestion:
    """An answerable question expecting BV unless told otherwise."""
    values: dict[str, Any] = {
        "id": qid,
        "question": "Wie teuer wird die Sanierung?",
        "expected_sources": ("BV",),
        "expected_answer_contains": (("14,1 Mio",),),
    }
    values.update(fields)
    return EvalQuestion(**values)


def observe(
    answer: str,
    cited: dict[int, str] | None = None,
    *,
    refused: bool = False,
    ranking: list[str] | None = None,
    latency_ms: float = 100.0,
    error: str = "",
) -> Observation:
    """What the system 'answered': text, citations [n] → chunk id, ranking and latency."""
    citations = [citation(n, chunk) for n, chunk in (cited or {}).items()]
    return Observation(
        answer=answer,
        refused=refused,
        citations=citations,
        ranking=ranking if ranking is not None else ["BV", "NI", "UV"],
        chunk_texts={c.chunk_id: PASSAGES[c.chunk_id] for c in citations},
        latency_ms=latency_ms,
        error=error,
    )


def graded(q: EvalQuestion, obs: Observation, k: int = 5) -> QuestionResult:
    """Grade with gold = the expected document ids themselves."""
    return grade(q, obs, gold=set(q.expected_sources), k=k, support=SUPPORT)
