"""Grading and metrics on hand-made answers: citations, support, refusals, groups, ranks."""

from __future__ import annotations

import pytest

from eval.metrics import (
    METRICS,
    Check,
    QuestionResult,
    compute_metrics,
    first_gold_rank,
    missing_groups,
    percentile,
)
from tests.eval.helpers import graded, observe, question

REFUSAL = "Dazu habe ich in den vorliegenden Dokumenten keine Information gefunden."


def check(result: QuestionResult, name: str) -> Check:
    """The check called ``name``."""
    return next(c for c in result.checks if c.name == name)


def test_correct_cited_answer_passes_every_check() -> None:
    result = graded(question(), observe("Die Sanierung kostet 14,1 Mio. Euro. [1]", {1: "bv-1"}))

    assert result.passed, result.checks
    assert [c.name for c in result.checks] == ["retrieval", "answer", "citations", "grounding"]
    metrics = compute_metrics([result])
    assert metrics["answer_accuracy"] == 1.0
    assert metrics["citation_precision"] == 1.0
    assert metrics["citation_recall"] == 1.0
    assert metrics["grounded_rate"] == 1.0


def test_sentence_without_citation_lowers_citation_recall_and_grounding() -> None:
    answer = "Die Sanierung kostet 14,1 Mio. Euro. [1] Das wurde im Rat lange diskutiert."
    result = graded(question(), observe(answer, {1: "bv-1"}))

    assert check(result, "grounding").reason == "sentence 2 has no citation"
    assert check(result, "answer").passed  # the fact is there; grounding fails separately
    metrics = compute_metrics([result])
    assert metrics["citation_recall"] == 0.5
    assert metrics["grounded_rate"] == 0.5


def test_wrong_citation_is_unsupported_and_imprecise() -> None:
    # The sentence is true, but it cites the feasibility study, which says nothing about it.
    answer = "Die Bauarbeiten beginnen am 14.10.2024. [1]"
    q = question(expected_answer_contains=(("14.10.2024",),))
    result = graded(q, observe(answer, {1: "uv-1"}))

    grounding = check(result, "grounding")
    assert not grounding.passed
    assert grounding.reason.startswith("sentence 1 unsupported: number not in source: ")
    assert "14102024" in grounding.reason
    assert check(result, "citations").reason == "cites no gold document (cited: UV)"
    metrics = compute_metrics([result])
    assert metrics["citation_precision"] == 0.0
    assert metrics["citation_recall"] == 0.0


def test_unsupported_number_is_named_in_the_reason() -> None:
    answer = "Die Sanierung kostet 12 Mio. Euro. [1]"
    result = graded(question(), observe(answer, {1: "bv-1"}))

    reasons = {c.name: c.reason for c in result.failures}
    assert reasons["grounding"] == "sentence 1 unsupported: number not in source: 12"
    assert reasons["answer"] == "missing group ['14,1 Mio']"
    assert compute_metrics([result])["grounded_rate"] == 0.0


def test_refusal_of_an_answerable_question_is_a_false_refusal() -> None:
    result = graded(question(), observe(REFUSAL, refused=True))

    assert check(result, "answer").reason == "refused an answerable question"
    assert result.sentences == []  # a refusal has no sentences to ground
    metrics = compute_metrics([result])
    assert metrics["false_refusal_rate"] == 1.0
    assert metrics["answer_accuracy"] == 0.0
    assert metrics["refusal_accuracy"] is None  # no unanswerable question in the run
    assert metrics["citation_precision"] is None


def test_correct_refusal_and_wrong_answer_to_unanswerable_questions() -> None:
    none: dict = {"answerable": False, "expected_sources": (), "expected_answer_contains": ()}
    refused = graded(question("u1", **none), observe(REFUSAL, refused=True))
    answered = graded(
        question("u2", **none),
        observe("Die Sanierung kostet 14,1 Mio. Euro. [1]", {1: "bv-1"}),
    )

    assert refused.passed and check(refused, "refusal").reason == "refused as expected"
    assert not answered.passed
    assert check(answered, "refusal").reason == "answered an unanswerable question (cited: BV)"
    metrics = compute_metrics([refused, answered])
    assert metrics["refusal_accuracy"] == 0.5
    assert metrics["false_refusal_rate"] is None


def test_every_group_needs_one_alternative_case_and_whitespace_insensitive() -> None:
    groups = [["23 Maßnahmen", "dreiundzwanzig"], ["4,8 Mio"]]

    assert missing_groups("Es sind 23  MASSNAHMEN.", groups) == [["4,8 Mio"]]  # ß casefolds
    assert missing_groups("23 maßnahmen\nfür 4,8\u00a0mio Euro", groups) == []
    assert missing_groups("Nichts davon.", groups) == groups

    q = question(expected_answer_contains=(("23 Maßnahmen",), ("4,8 Mio",)))
    result = graded(q, observe("Das Konzept umfasst 23 Maßnahmen. [1]", {1: "bv-1"}))
    assert check(result, "answer").reason == "missing group ['4,8 Mio']"


def test_retrieval_recall_and_mrr_use_the_first_gold_document_in_the_top_k() -> None:
    first = graded(question("a"), observe(REFUSAL, refused=True, ranking=["BV", "NI"]))
    third = graded(question("b"), observe(REFUSAL, refused=True, ranking=["NI", "UV", "BV"]))
    missed = graded(question("c"), observe(REFUSAL, refused=True, ranking=["NI", "UV", "BV"]), k=2)
    later = graded(
        question("d", expected_sources=("UV", "BV")),
        observe(REFUSAL, refused=True, ranking=["NI", "BV", "UV"]),
    )

    assert (first.rank, third.rank, missed.rank, later.rank) == (1, 3, None, 2)
    assert check(missed, "retrieval").reason == "gold BV not in top-2"
    metrics = compute_metrics([first, third, missed, later])
    assert metrics["retrieval_recall_at_k"] == 0.75
    assert metrics["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4, abs=1e-4)


def test_first_gold_rank_only_looks_at_the_top_k() -> None:
    assert first_gold_rank(["a", "b", "c"], {"c"}, k=3) == 3
    assert first_gold_rank(["a", "b", "c"], {"c"}, k=2) is None
    assert first_gold_rank([], {"c"}, k=5) is None


def test_citation_precision_is_the_share_of_cited_documents_that_are_gold() -> None:
    answer = (
        "Die Sanierung kostet 14,1 Mio. Euro. [1] Für einen Neubau wären es 13,2 Mio. Euro. [2]"
    )
    result = graded(question(), observe(answer, {1: "bv-1", 2: "uv-1"}))

    assert result.citation_precision == 0.5
    assert check(result, "citations").passed  # at least one gold document is cited
    assert compute_metrics([result])["citation_precision"] == 0.5


def test_unmatched_expected_sources_fail_retrieval_with_a_reason() -> None:
    from eval.metrics import grade
    from tests.eval.helpers import SUPPORT

    q = question(expected_sources=("BV/9999/2030",))
    result = grade(
        q,
        observe(REFUSAL, refused=True),
        gold=set(),
        unmatched_sources=["BV/9999/2030"],
        k=5,
        support=SUPPORT,
    )

    assert check(result, "retrieval").reason == (
        "expected source(s) BV/9999/2030 match no document"
    )


def test_latency_percentiles_interpolate_and_skip_errored_questions() -> None:
    results = [
        graded(question(f"q{i}"), observe(REFUSAL, refused=True, latency_ms=float(ms)))
        for i, ms in enumerate([10, 20, 30, 40, 1000])
    ]
    results.append(graded(question("err"), observe("", refused=True, error="Boom", latency_ms=9e9)))

    metrics = compute_metrics(results)

    assert metrics["latency_ms_p50"] == 30.0
    assert metrics["latency_ms_p95"] == pytest.approx(808.0)
    assert percentile([], 50) is None
    assert not results[-1].passed and results[-1].checks[0].name == "error"


def test_every_metric_is_reported_even_for_an_empty_run() -> None:
    assert set(compute_metrics([])) == set(METRICS)
    assert all(v is None for v in compute_metrics([]).values())
