"""Grading one answer against its question, and the metrics over a whole run.

Pure functions over plain data (no model, no store): the runner collects what the service
answered, retrieved and cited; here it becomes pass/fail checks with reasons and numbers.
Sentence support comes from a ``SupportFn`` — the offline ``SupportChecker`` or an LLM judge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chatbot.domain import Citation
from chatbot.grounding import Support, split_answer
from eval.dataset import EvalQuestion

SupportFn = Callable[[str, Sequence[str]], Support]


@dataclass(frozen=True)
class MetricInfo:
    """How to read a metric: labels, direction and unit."""

    label_de: str
    label_en: str
    higher_is_better: bool = True
    unit: str = ""
    description: str = ""


METRICS: dict[str, MetricInfo] = {
    "retrieval_recall_at_k": MetricInfo(
        "Treffer unter Top-k",
        "retrieval recall@k",
        description="answerable questions with a gold document among the top-k documents",
    ),
    "mrr": MetricInfo(
        "MRR", "mean reciprocal rank", description="1/rank of the first gold document (top-k)"
    ),
    "answer_accuracy": MetricInfo(
        "Antwort korrekt",
        "answer accuracy",
        description="answerable, not refused, contains every expected group",
    ),
    "citation_precision": MetricInfo(
        "Zitate präzise",
        "citation precision",
        description="share of cited documents that are gold (mean per answer)",
    ),
    "citation_recall": MetricInfo(
        "Zitate vollständig",
        "citation recall",
        description="answer sentences that cite a passage which supports them (ALCE-style)",
    ),
    "grounded_rate": MetricInfo(
        "Belegt",
        "grounded rate",
        description="sentences of all answers supported by the passages they cite",
    ),
    "refusal_accuracy": MetricInfo(
        "Richtig abgelehnt",
        "refusal accuracy",
        description="unanswerable questions refused",
    ),
    "false_refusal_rate": MetricInfo(
        "Fälschlich abgelehnt",
        "false refusal rate",
        higher_is_better=False,
        description="answerable questions refused",
    ),
    "latency_ms_p50": MetricInfo(
        "Antwortzeit p50", "latency p50", higher_is_better=False, unit="ms"
    ),
    "latency_ms_p95": MetricInfo(
        "Antwortzeit p95", "latency p95", higher_is_better=False, unit="ms"
    ),
}
RATE_METRICS = tuple(name for name, info in METRICS.items() if not info.unit)


@dataclass
class Check:
    """One pass/fail check of a question, with the reason a reader needs."""

    name: str
    passed: bool
    reason: str = ""


@dataclass
class SentenceGrade:
    """One answer sentence: whether it cites a passage and whether that passage supports it."""

    number: int
    text: str
    citations: list[int]
    cited: bool
    supported: bool
    reason: str


@dataclass
class Observation:
    """What the system did for one question (collected by the runner)."""

    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    """Distinct document ids retrieval ranked, best first."""
    chunk_texts: dict[str, str] = field(default_factory=dict)
    """Text of every cited chunk by chunk id."""
    latency_ms: float = 0.0
    standalone_question: str = ""
    error: str = ""


@dataclass
class QuestionResult:
    """A graded question: the observation, the derived numbers and the checks."""

    question: EvalQuestion
    observation: Observation
    gold: set[str]
    unmatched_sources: list[str]
    k: int
    rank: int | None
    answer_correct: bool | None
    cited_documents: list[str]
    citation_precision: float | None
    sentences: list[SentenceGrade]
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.passed]


# --- building blocks ----------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """Case-folded, with every run of whitespace (also non-breaking) as one space."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).casefold()


def missing_groups(answer: str, groups: Iterable[Sequence[str]]) -> list[list[str]]:
    """The expected groups of which no alternative occurs in the answer."""
    haystack = normalise_text(answer)
    return [
        list(group)
        for group in groups
        if not any(normalise_text(s).strip() in haystack for s in group)
    ]


def first_gold_rank(ranking: Sequence[str], gold: set[str], k: int) -> int | None:
    """1-based rank of the first gold document among the top-k, None when absent."""
    for position, document_id in enumerate(ranking[:k], start=1):
        if document_id in gold:
            return position
    return None


def grade_sentences(
    text: str,
    citations: Sequence[Citation],
    chunk_texts: Mapping[str, str],
    support: SupportFn,
) -> list[SentenceGrade]:
    """Split an answer into sentences and check each against the chunks it cites."""
    by_number = {c.n: c for c in citations}
    grades: list[SentenceGrade] = []
    for number, sentence in enumerate(split_answer(text), start=1):
        numbers = list(dict.fromkeys(sentence.citations))
        if not numbers:
            grades.append(SentenceGrade(number, sentence.text, [], False, False, "no citation"))
            continue
        unknown = [n for n in numbers if n not in by_number]
        evidence = [
            chunk_texts[by_number[n].chunk_id]
            for n in numbers
            if n in by_number and by_number[n].chunk_id in chunk_texts
        ]
        if unknown and not evidence:
            reason = f"cites unknown source {', '.join(f'[{n}]' for n in unknown)}"
            grades.append(SentenceGrade(number, sentence.text, numbers, True, False, reason))
            continue
        if not evidence:
            reason = "cited passage not found in the index"
            grades.append(SentenceGrade(number, sentence.text, numbers, True, False, reason))
            continue
        result = support(sentence.text, evidence)
        grades.append(
            SentenceGrade(number, sentence.text, numbers, True, result.supported, result.reason)
        )
    return grades


def _citation_documents(citations: Sequence[Citation]) -> list[str]:
    return list(dict.fromkeys(c.document_id for c in citations if c.document_id))


def _labels(ids: Iterable[str], label: Callable[[str], str]) -> str:
    return ", ".join(sorted(label(i) for i in ids))


# --- grading one question -----------------------------------------------------------------
def grade(
    question: EvalQuestion,
    observation: Observation,
    *,
    gold: set[str],
    unmatched_sources: Sequence[str] = (),
    k: int,
    support: SupportFn,
    label: Callable[[str], str] = str,
) -> QuestionResult:
    """All checks of one question; ``label`` names documents in reasons (reference numbers)."""
    obs = observation
    cited = _citation_documents(obs.citations)
    sentences = (
        [] if obs.refused else grade_sentences(obs.answer, obs.citations, obs.chunk_texts, support)
    )
    rank = first_gold_rank(obs.ranking, gold, k) if gold else None
    checks: list[Check] = []
    if obs.error:
        checks.append(Check("error", False, obs.error))
    answer_correct: bool | None = None
    precision: float | None = None
    if question.answerable:
        if question.expected_sources:
            checks.append(_retrieval_check(gold, unmatched_sources, rank, k, label))
        missing = (
            [] if obs.refused else missing_groups(obs.answer, question.expected_answer_contains)
        )
        answer_correct = not obs.refused and not missing
        checks.append(_answer_check(obs.refused, missing))
        if not obs.refused and question.expected_sources and cited:
            good = [d for d in cited if d in gold]
            precision = len(good) / len(cited)
            reason = f"cites {len(good)} of {len(cited)} gold"
            if not good:
                reason = f"cites no gold document (cited: {_labels(cited, label)})"
            checks.append(Check("citations", bool(good), reason))
        if not obs.refused:
            checks.append(_grounding_check(sentences))
    else:
        reason = "refused as expected"
        if not obs.refused:
            reason = "answered an unanswerable question"
            if cited:
                reason += f" (cited: {_labels(cited, label)})"
        checks.append(Check("refusal", obs.refused, reason))
    return QuestionResult(
        question=question,
        observation=obs,
        gold=set(gold),
        unmatched_sources=list(unmatched_sources),
        k=k,
        rank=rank,
        answer_correct=answer_correct,
        cited_documents=cited,
        citation_precision=precision,
        sentences=sentences,
        checks=checks,
    )


def _retrieval_check(
    gold: set[str], unmatched: Sequence[str], rank: int | None, k: int, label: Callable[[str], str]
) -> Check:
    if not gold:
        return Check(
            "retrieval", False, f"expected source(s) {', '.join(unmatched)} match no document"
        )
    if rank is None:
        return Check("retrieval", False, f"gold {_labels(gold, label)} not in top-{k}")
    return Check("retrieval", True, f"gold at rank {rank}")


def _answer_check(refused: bool, missing: list[list[str]]) -> Check:
    if refused:
        return Check("answer", False, "refused an answerable question")
    if missing:
        return Check("answer", False, "; ".join(f"missing group {group}" for group in missing))
    return Check("answer", True, "contains every expected group")


def _grounding_check(sentences: Sequence[SentenceGrade]) -> Check:
    if not sentences:
        return Check("grounding", False, "the answer has no sentence")
    problems = [
        f"sentence {s.number} has no citation"
        if not s.cited
        else f"sentence {s.number} unsupported: {s.reason}"
        for s in sentences
        if not s.supported
    ]
    if problems:
        return Check("grounding", False, "; ".join(problems))
    return Check("grounding", True, f"{len(sentences)} sentence(s) supported")


# --- metrics over a run -------------------------------------------------------------------
def _share(hits: Sequence[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 1)


def compute_metrics(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Every metric of ``METRICS``; None when no question falls into its denominator."""
    answerable = [r for r in results if r.question.answerable]
    with_gold = [r for r in answerable if r.question.expected_sources]
    answered = [r for r in answerable if not r.observation.refused]
    unanswerable = [r for r in results if not r.question.answerable]
    all_sentences = [s for r in results for s in r.sentences]
    answerable_sentences = [s for r in answered for s in r.sentences]
    latencies = [r.observation.latency_ms for r in results if not r.observation.error]
    return {
        "retrieval_recall_at_k": _share([r.rank is not None for r in with_gold]),
        "mrr": _mean([1 / r.rank if r.rank else 0.0 for r in with_gold]),
        "answer_accuracy": _share([bool(r.answer_correct) for r in answerable]),
        "citation_precision": _mean(
            [r.citation_precision for r in answered if r.citation_precision is not None]
        ),
        "citation_recall": _share([s.cited and s.supported for s in answerable_sentences]),
        "grounded_rate": _share([s.supported for s in all_sentences]),
        "refusal_accuracy": _share([r.observation.refused for r in unanswerable]),
        "false_refusal_rate": _share([r.observation.refused for r in answerable]),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
    }


def counts(results: Sequence[QuestionResult]) -> dict[str, int]:
    """How many questions of each kind, passed, failed and errored."""
    return {
        "questions": len(results),
        "answerable": sum(r.question.answerable for r in results),
        "unanswerable": sum(not r.question.answerable for r in results),
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "errors": sum(bool(r.observation.error) for r in results),
        "sentences": sum(len(r.sentences) for r in results),
    }
