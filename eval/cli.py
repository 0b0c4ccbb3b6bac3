"""``schaengel eval``: load a question set, run it, write reports, compare, gate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from chatbot.container import Container
from chatbot.grounding import METHOD
from eval.baseline import compare, load_baseline
from eval.dataset import load_questions
from eval.gate import parse_bounds, violations
from eval.report import build_report, summary_text, to_json, write_reports
from eval.runner import EvalRunner


def run_eval_command(
    container: Container,
    questions_path: Path,
    *,
    report_dir: Path | None = None,
    baseline: Path | None = None,
    fail_under: Sequence[str] = (),
    fail_over: Sequence[str] = (),
    k: int = 5,
    as_json: bool = False,
    judge: bool = False,
    progress: bool = True,
) -> int:
    """Run the evaluation and print its summary (or JSON); the exit code is 1 on a failed gate.

    Bounds, question set and baseline are validated before the first question is asked, so a
    typo fails in a second, not after a full run.
    """
    bounds = parse_bounds(fail_under, "under") + parse_bounds(fail_over, "over")
    questions = load_questions(questions_path)
    previous = load_baseline(baseline) if baseline else None
    support, method = None, METHOD
    if judge:
        from eval.judge import LLMJudge

        llm_judge = LLMJudge.from_backend(container.backend)
        support, method = llm_judge.support, llm_judge.method
    runner = EvalRunner(container, k=k, support=support, grounding_method=method, progress=progress)
    run = runner.run(questions, questions_path)
    report = build_report(run)
    if previous is not None:
        report["baseline"] = compare(report, previous, str(baseline))
    problems = violations(report["metrics"], bounds)
    report["gate"] = {
        "bounds": [str(b) for b in bounds],
        "violations": problems,
        "passed": not problems,
    }
    if report_dir is not None:
        written = write_reports(report, report_dir)
        typer.echo(
            "Berichte / reports: " + ", ".join(str(p) for p in written.values()), err=as_json
        )
    typer.echo(to_json(report).rstrip("\n") if as_json else summary_text(report))
    code = 0
    if run.counts["errors"]:
        typer.secho(
            f"Fehler / errors: {run.counts['errors']} question(s) could not be answered",
            err=True,
            fg=typer.colors.RED,
        )
        code = 1
    for problem in problems:
        typer.secho(f"Schwelle verletzt / gate failed: {problem}", err=True, fg=typer.colors.RED)
        code = 1
    return code
