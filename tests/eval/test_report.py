"""Report writers (JSON, Markdown, HTML, JUnit), the baseline comparison and the gate."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chatbot.cli import app
from eval.baseline import BaselineError, compare, load_baseline
from eval.dataset import DocumentCatalog, IndexedDocument
from eval.gate import GateError, parse_bounds, violations
from eval.html import histogram_bins, to_html
from eval.metrics import METRICS, compute_metrics, counts
from eval.report import build_report, summary_text, to_junit, to_markdown, write_reports
from eval.runner import EvalRun
from tests.eval.helpers import graded, observe, question

REFUSAL = "Dazu habe ich in den vorliegenden Dokumenten keine Information gefunden."
SETTINGS = {
    "backend": "extractive",
    "model": "extractive",
    "embedding_model": "all-MiniLM-L6-v2",
    "k": 5,
    "top_k": 6,
    "store": "embedded /tmp/data/chroma",
    "collection": "schaengel",
    "documents": 3,
    "question_file": "eval/questions/hand.jsonl",
    "questions": 3,
    "grounding_method": "offline: test",
    "timestamp": "2026-11-22T10:00:00+00:00",
}


def make_report(passing_q2: bool = False) -> dict[str, Any]:
    results = [
        graded(question("q1"), observe("Die Sanierung kostet 14,1 Mio. Euro. [1]", {1: "bv-1"})),
        graded(
            question("q2", question="Wann <b>beginnen</b> die Bauarbeiten?"),
            observe("Die Sanierung kostet 14,1 Mio. Euro. [1]", {1: "bv-1"})
            if passing_q2
            else observe(REFUSAL, refused=True, latency_ms=250.0),
        ),
        graded(
            question("q3", answerable=False, expected_sources=(), expected_answer_contains=()),
            observe(REFUSAL, refused=True, latency_ms=40.0),
        ),
    ]
    catalog = DocumentCatalog([IndexedDocument("BV", "/c/BV.pdf", "BV/0001/2024")])
    run = EvalRun(results, compute_metrics(results), counts(results), dict(SETTINGS), catalog)
    return build_report(run)


def test_json_report_has_settings_metrics_and_one_row_per_question() -> None:
    report = json.loads(json.dumps(make_report()))  # JSON-serialisable as it is

    assert set(report["metrics"]) == set(METRICS)
    for key in ("backend", "model", "embedding_model", "k", "collection", "question_file"):
        assert key in report["settings"]
    assert report["settings"]["grounding_method"] == "offline: test"
    assert [row["id"] for row in report["questions"]] == ["q1", "q2", "q3"]
    q2 = report["questions"][1]
    assert q2["refused"] is True and q2["passed"] is False
    assert {"answer", "sources", "latency_ms", "checks", "retrieved"} <= set(q2)
    assert {"name": "answer", "passed": False, "reason": "refused an answerable question"} in q2[
        "checks"
    ]
    q1 = report["questions"][0]
    assert q1["sources"][0]["gold"] is True and q1["sources"][0]["file"] == "BV-0001-2024.pdf"
    assert q1["retrieved"] == ["BV/0001/2024", "NI", "UV"]  # reference numbers where known


def test_junit_has_one_testcase_per_question_with_failed_checks_as_message() -> None:
    root = ET.fromstring(to_junit(make_report()))

    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name", "").split(":")[0] for c in failed] == ["q2"]
    failure = failed[0].find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert "answer: refused an answerable question" in message
    assert root.get("tests") == "3" and root.get("failures") == "1"


def test_markdown_contains_the_metric_table_and_the_failures() -> None:
    markdown = to_markdown(make_report())

    assert "| Kennzahl / metric | Wert / value |" in markdown
    for name in METRICS:
        assert f"(`{name}`)" in markdown
    assert "| q2 | Wann <b>beginnen</b> die Bauarbeiten? | answer: refused" in markdown


def test_html_is_self_contained_escaped_and_has_accessible_charts() -> None:
    page = to_html(make_report())

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert page.count("<svg") == 2 and page.count('role="img"') == 2
    assert '<title id="chart-metrics-title">' in page and "<desc id=" in page
    assert "Wann &lt;b&gt;beginnen&lt;/b&gt;" in page  # question text is escaped
    # Failures come first in the question table.
    table = page[page.index("<table id='questions'>") :]
    assert table.index(">q2<") < table.index(">q1<")


def test_write_reports_writes_all_four_files(tmp_path: Path) -> None:
    written = write_reports(make_report(), tmp_path / "out")

    assert {p.name for p in written.values()} == {
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
    }
    assert json.loads(written["json"].read_text(encoding="utf-8"))["schema"] == "schaengel-eval/1"


def test_baseline_lists_every_metric_change_and_pass_to_fail_questions(tmp_path: Path) -> None:
    before = make_report(passing_q2=True)
    now = make_report(passing_q2=False)

    diff = compare(now, before, "old.json")

    assert [m["metric"] for m in diff["metrics"]] == list(METRICS)
    accuracy = next(m for m in diff["metrics"] if m["metric"] == "answer_accuracy")
    assert (accuracy["baseline"], accuracy["current"], accuracy["change"]) == (1.0, 0.5, "worse")
    refusals = next(m for m in diff["metrics"] if m["metric"] == "false_refusal_rate")
    assert refusals["change"] == "worse"  # went up, and lower is better
    assert [r["id"] for r in diff["regressions"]] == ["q2"]
    assert diff["regressions"][0]["failed"] == ["answer: refused an answerable question"]
    assert compare(before, now)["fixed"] == ["q2"]

    now["baseline"] = diff
    assert "Verschlechtert seit Basis / regressed since baseline: 1" in summary_text(now)
    assert "| Kennzahl / metric | Wert / value | Basis / baseline | Δ |" in to_markdown(now)
    assert to_html(now).count('class="bar bar-baseline"') == len(
        [n for n in METRICS if not METRICS[n].unit]
    )


def test_baseline_file_must_be_a_report(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"metrics": 1}')
    with pytest.raises(BaselineError, match="not a report"):
        load_baseline(path)
    path.write_text("{")
    with pytest.raises(BaselineError, match="not valid JSON"):
        load_baseline(path)


def test_fail_under_bounds_are_checked_and_violations_named() -> None:
    report = make_report()
    bounds = parse_bounds(["answer_accuracy=0.9", "refusal_accuracy=0.5"], "under")
    bounds += parse_bounds(["latency_ms_p95=100"], "over")

    problems = violations(report["metrics"], bounds)

    assert problems == [
        "answer_accuracy = 0.5 is below 0.9",
        f"latency_ms_p95 = {report['metrics']['latency_ms_p95']:g} is above 100",
    ]
    unmeasured = copy.deepcopy(report["metrics"]) | {"mrr": None}
    assert violations(unmeasured, parse_bounds(["mrr=0.1"], "under")) == [
        "mrr was not measured (no question counts towards it)"
    ]


@pytest.mark.parametrize(
    ("spec", "kind", "message"),
    [
        ("accuracy=0.5", "under", "unknown metric 'accuracy'; known metrics: retrieval_recall"),
        ("answer_accuracy", "under", "expects METRIC=VALUE"),
        ("answer_accuracy=high", "under", "'high' is not a number"),
        ("answer_accuracy=80", "under", "must lie in [0, 1]"),
        ("latency_ms_p95=500", "under", "lower is better for this metric; give an upper bound"),
        ("mrr=0.5", "over", "higher is better for this metric"),
    ],
)
def test_bad_bounds_are_rejected_with_a_clear_error(spec: str, kind: str, message: str) -> None:
    with pytest.raises(GateError) as caught:
        parse_bounds([spec], kind)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_cli_rejects_an_unknown_metric_before_asking_anything(tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "question": "?"}\n')

    result = CliRunner().invoke(
        app,
        ["eval", str(questions), "--fail-under", "recall=0.5"],
        env={"SCHAENGEL_DATA_DIR": str(tmp_path / "data")},
    )

    assert result.exit_code == 2
    assert "unknown metric 'recall'" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was opened or created


def test_histogram_bins_cover_all_values() -> None:
    bins = histogram_bins([10, 20, 30, 100], bins=3)
    assert sum(n for _, _, n in bins) == 4
    assert bins[0][0] == 10 and bins[-1][1] == 100
    assert histogram_bins([5, 5]) == [(5, 5, 2)]
    assert histogram_bins([]) == []
