"""Evaluation reports: the JSON object, Markdown, JUnit XML, the terminal summary; and writing
them (with the HTML page from ``eval.html``) into a report directory."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eval.dataset import DocumentCatalog, source_basename
from eval.metrics import METRICS, QuestionResult
from eval.runner import EvalRun

SCHEMA = "schaengel-eval/1"
REPORT_FILES = {
    "json": "report.json",
    "markdown": "report.md",
    "html": "report.html",
    "junit": "junit.xml",
}


# --- the JSON object ---------------------------------------------------------------------
def build_report(run: EvalRun) -> dict[str, Any]:
    """The machine-readable report: settings, metrics, counts and one row per question."""
    return {
        "schema": SCHEMA,
        "settings": run.settings,
        "metrics": dict(run.metrics),
        "metric_info": {
            name: {
                "label_de": info.label_de,
                "label_en": info.label_en,
                "higher_is_better": info.higher_is_better,
                "unit": info.unit,
                "description": info.description,
            }
            for name, info in METRICS.items()
        },
        "counts": dict(run.counts),
        "questions": [question_row(r, run.catalog) for r in run.results],
        "baseline": None,
        "gate": {"bounds": [], "violations": [], "passed": True},
    }


def question_row(result: QuestionResult, catalog: DocumentCatalog) -> dict[str, Any]:
    """One question of the report: what was asked, answered, cited, and each check."""
    q, obs = result.question, result.observation
    return {
        "id": q.id,
        "question": q.question,
        "answerable": q.answerable,
        "audience": q.audience,
        "filters": dict(q.filters),
        "history": list(q.history),
        "standalone_question": obs.standalone_question,
        "answer": obs.answer,
        "refused": obs.refused,
        "passed": result.passed,
        "error": obs.error,
        "latency_ms": obs.latency_ms,
        "sources": [
            {
                "n": c.n,
                "document_id": c.document_id,
                "reference": c.reference,
                "title": c.title,
                "file": source_basename(c.source),
                "gold": c.document_id in result.gold,
            }
            for c in obs.citations
        ],
        "expected_sources": list(q.expected_sources),
        "unmatched_sources": result.unmatched_sources,
        "retrieved": [catalog.label(d) for d in obs.ranking[: result.k]],
        "gold_rank": result.rank,
        "citation_precision": result.citation_precision,
        "sentences": [
            {
                "n": s.number,
                "text": s.text,
                "citations": s.citations,
                "supported": s.supported,
                "reason": s.reason,
            }
            for s in result.sentences
        ],
        "checks": [{"name": c.name, "passed": c.passed, "reason": c.reason} for c in result.checks],
    }


def failure_summary(row: Mapping[str, Any]) -> str:
    """The failed checks of a question row as one line."""
    return "; ".join(f"{c['name']}: {c['reason']}" for c in row["checks"] if not c["passed"])


def ordered_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Question rows with failures first, otherwise in question-set order."""
    return sorted(report["questions"], key=lambda row: row["passed"])


# --- formatting helpers ------------------------------------------------------------------
def format_value(name: str, value: float | None) -> str:
    """A metric value for people: rates with three decimals, latencies in ms."""
    if value is None:
        return "–"
    if METRICS[name].unit == "ms":
        return f"{value:.0f} ms"
    return f"{value:.3f}"


def format_delta(name: str, delta: float | None) -> str:
    """A signed change of a metric."""
    if delta is None:
        return "–"
    if METRICS[name].unit == "ms":
        return f"{delta:+.0f} ms"
    return f"{delta:+.3f}"


def metric_label(name: str, k: int | None = None) -> str:
    """German / English label of a metric (``k`` filled in where the metric has one)."""
    info = METRICS[name]
    label = f"{info.label_de} / {info.label_en}"
    if k and name == "retrieval_recall_at_k":
        label = label.replace("Top-k", f"Top-{k}").replace("@k", f"@{k}")
    return label


def baseline_metrics(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The baseline comparison of each metric by name (empty without a baseline)."""
    baseline = report.get("baseline") or {}
    return {m["metric"]: m for m in baseline.get("metrics", [])}


# --- terminal summary --------------------------------------------------------------------
def summary_text(report: Mapping[str, Any]) -> str:
    """The readable summary printed by ``schaengel eval`` (metric table, then failures)."""
    settings = report["settings"]
    compared = baseline_metrics(report)
    k = settings.get("k")
    width = max(len(metric_label(n, k)) for n in METRICS) + 2
    header = f"{'Kennzahl / metric':<{width}}{'Wert':>10}"
    if compared:
        header += f"{'Basis':>10}{'Δ':>10}"
    lines = [
        f"Schängel-Auswertung · {settings.get('questions', 0)} Fragen · "
        f"Backend {settings.get('backend')} ({settings.get('model')}) · k={settings.get('k')}",
        "",
        header,
        "-" * len(header),
    ]
    for name in METRICS:
        line = f"{metric_label(name, k):<{width}}{format_value(name, report['metrics'][name]):>10}"
        if compared:
            row = compared.get(name, {})
            line += f"{format_value(name, row.get('baseline')):>10}"
            line += f"{format_delta(name, row.get('delta')):>10}"
        lines.append(line)
    c = report["counts"]
    lines += [
        "",
        f"Fragen / questions: {c['questions']} · bestanden / passed: {c['passed']} · "
        f"fehlgeschlagen / failed: {c['failed']} · Fehler / errors: {c['errors']}",
        f"Belegprüfung / grounding check: {settings.get('grounding_method')}",
    ]
    failed = [row for row in report["questions"] if not row["passed"]]
    if failed:
        lines += ["", "Fehlgeschlagen / failed:"]
        lines += [f"  {row['id']:<8} {failure_summary(row)}" for row in failed]
    baseline = report.get("baseline")
    if baseline:
        regressions = baseline["regressions"]
        lines += ["", f"Verschlechtert seit Basis / regressed since baseline: {len(regressions)}"]
        lines += [f"  {r['id']:<8} {'; '.join(r['failed'])}" for r in regressions]
        if baseline["fixed"]:
            lines.append(f"Behoben / fixed: {', '.join(baseline['fixed'])}")
    return "\n".join(lines)


# --- Markdown ------------------------------------------------------------------------------
def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: settings, metric table, gate, regressions, failures, questions."""
    settings = report["settings"]
    compared = baseline_metrics(report)
    k = settings.get("k")
    lines = [
        "# Schängel – Auswertung / evaluation report",
        "",
        f"- Fragen / questions: `{settings.get('question_file')}` ({settings.get('questions')})",
        f"- Backend: {settings.get('backend')} (`{settings.get('model')}`)",
        f"- Einbettung / embedding model: `{settings.get('embedding_model')}`",
        f"- Index: {settings.get('store')}, collection `{settings.get('collection')}`, "
        f"{settings.get('documents')} documents",
        f"- k = {settings.get('k')} · top_k = {settings.get('top_k')}",
        f"- Belegprüfung / grounding check: {settings.get('grounding_method')}",
        f"- Zeitpunkt / timestamp: {settings.get('timestamp')}",
        "",
        "## Kennzahlen / metrics",
        "",
    ]
    if compared:
        lines += [
            "| Kennzahl / metric | Wert / value | Basis / baseline | Δ |",
            "| --- | ---: | ---: | ---: |",
        ]
    else:
        lines += ["| Kennzahl / metric | Wert / value |", "| --- | ---: |"]
    for name in METRICS:
        cells = [f"{metric_label(name, k)} (`{name}`)", format_value(name, report["metrics"][name])]
        if compared:
            row = compared.get(name, {})
            cells += [format_value(name, row.get("baseline")), format_delta(name, row.get("delta"))]
        lines.append("| " + " | ".join(cells) + " |")
    gate = report.get("gate") or {}
    if gate.get("bounds"):
        lines += ["", "## Schwellen / gate", ""]
        lines += [f"- `{b}`" for b in gate["bounds"]]
        lines += [f"- **verletzt / violated:** {v}" for v in gate.get("violations", [])]
    baseline = report.get("baseline")
    if baseline:
        lines += ["", "## Verschlechtert seit Basis / regressed since baseline", ""]
        lines += [
            f"- **{r['id']}** {_md(r['question'])}: {_md('; '.join(r['failed']))}"
            for r in baseline["regressions"]
        ] or ["- keine / none"]
        if baseline["fixed"]:
            lines.append(f"- behoben / fixed: {', '.join(baseline['fixed'])}")
    rows = ordered_rows(report)
    failed = [r for r in rows if not r["passed"]]
    lines += ["", f"## Fehlgeschlagene Fragen / failing questions ({len(failed)})", ""]
    if failed:
        lines += ["| id | Frage / question | Gründe / reasons |", "| --- | --- | --- |"]
        lines += [
            f"| {r['id']} | {_md(r['question'])} | {_md(failure_summary(r))} |" for r in failed
        ]
    else:
        lines.append("Keine / none.")
    lines += [
        "",
        "## Alle Fragen / all questions",
        "",
        "| id | ok | abgelehnt / refused | ms | Quellen / sources | Frage / question |",
        "| --- | :-: | :-: | ---: | --- | --- |",
    ]
    for r in rows:
        sources = ", ".join(s["reference"] or s["file"] for s in r["sources"]) or "–"
        lines.append(
            f"| {r['id']} | {'✔' if r['passed'] else '✘'} | {'ja' if r['refused'] else 'nein'} "
            f"| {r['latency_ms']:.0f} | {_md(sources)} | {_md(r['question'])} |"
        )
    return "\n".join(lines) + "\n"


# --- JUnit XML -----------------------------------------------------------------------------
def to_junit(report: Mapping[str, Any]) -> str:
    """JUnit XML for CI: one testcase per question, the failed checks as the failure message."""
    settings = report["settings"]
    stem = Path(str(settings.get("question_file") or "questions")).stem or "questions"
    suite_name = f"schaengel-eval.{stem}"
    c = report["counts"]
    failures = sum(1 for r in report["questions"] if not r["passed"] and not r["error"])
    errors = sum(1 for r in report["questions"] if r["error"])
    seconds = f"{sum(r['latency_ms'] for r in report['questions']) / 1000:.3f}"
    root = ET.Element(
        "testsuites",
        name="schaengel eval",
        tests=str(c["questions"]),
        failures=str(failures),
        errors=str(errors),
        time=seconds,
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(c["questions"]),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=seconds,
        timestamp=str(settings.get("timestamp", "")),
    )
    properties = ET.SubElement(suite, "properties")
    for key in ("backend", "model", "embedding_model", "k", "grounding_method", "question_file"):
        ET.SubElement(properties, "property", name=key, value=str(settings.get(key, "")))
    for name, value in report["metrics"].items():
        ET.SubElement(properties, "property", name=f"metric.{name}", value=str(value))
    for row in report["questions"]:
        title = row["question"] if len(row["question"]) <= 80 else row["question"][:79] + "…"
        case = ET.SubElement(
            suite,
            "testcase",
            classname=suite_name,
            name=f"{row['id']}: {title}",
            time=f"{row['latency_ms'] / 1000:.3f}",
        )
        if row["passed"]:
            continue
        tag = "error" if row["error"] else "failure"
        failed = [ch for ch in row["checks"] if not ch["passed"]]
        element = ET.SubElement(
            case,
            tag,
            message=failure_summary(row),
            type=",".join(ch["name"] for ch in failed),
        )
        element.text = _junit_details(row)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _junit_details(row: Mapping[str, Any]) -> str:
    sources = ", ".join(s["reference"] or s["file"] or s["document_id"] for s in row["sources"])
    return "\n".join(
        [
            f"question: {row['question']}",
            f"answer: {row['answer']}",
            f"sources: {sources or '-'}",
            f"retrieved: {', '.join(row['retrieved']) or '-'}",
            *[f"{ch['name']}: {ch['reason']}" for ch in row["checks"] if not ch["passed"]],
        ]
    )


# --- writing -------------------------------------------------------------------------------
def to_json(report: Mapping[str, Any]) -> str:
    """The report as indented JSON (UTF-8, umlauts kept)."""
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def write_reports(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    """Write JSON, Markdown, HTML and JUnit into ``directory``; return the paths by kind."""
    from eval.html import to_html

    directory.mkdir(parents=True, exist_ok=True)
    renderers = {"json": to_json, "markdown": to_markdown, "html": to_html, "junit": to_junit}
    written: dict[str, Path] = {}
    for kind, render in renderers.items():
        path = directory / REPORT_FILES[kind]
        path.write_text(render(report), encoding="utf-8")
        written[kind] = path
    return written
