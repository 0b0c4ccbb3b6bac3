"""The ``schaengel`` command line: parses input, calls one service, renders the result."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from chatbot.container import Container
from chatbot.domain import AUDIENCES, Visibility
from chatbot.errors import ConfigurationError, SchaengelError
from chatbot.settings import load_settings

app = typer.Typer(
    name="schaengel",
    help="Schängel – Antworten mit Quellen aus Ratsdokumenten (answers from council documents).",
    no_args_is_help=True,
    add_completion=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(command: F) -> F:
    """Print Schängel errors as one readable line on stderr (no trace) and exit non-zero."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SchaengelError as exc:
            typer.secho(f"Fehler / error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2 if isinstance(exc, ConfigurationError) else 1) from None

    return wrapper  # type: ignore[return-value]


def _container() -> Container:
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    return Container(load_settings())


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
@_reports_errors
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to ingest.")] = None,
    oparl: Annotated[
        str | None, typer.Option(help="OParl System or Body URL of a council information system.")
    ] = None,
    visibility: Annotated[
        str, typer.Option(help="public or internal (a sidecar can only restrict further).")
    ] = "public",
    prune: Annotated[
        bool, typer.Option(help="Remove indexed documents that disappeared from these folders.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ingest council documents (PDF, DOCX, HTML, TXT, MD) into the index."""
    from ingest.pipeline import Failure, IngestPipeline
    from ingest.sources import discover_files, most_restrictive

    container = _container()
    level: Visibility = most_restrictive(visibility)
    if oparl:
        from ingest.oparl import sync_oparl

        report = sync_oparl(container, oparl, visibility=level)
    elif paths:
        sources, skipped = discover_files(paths, level)
        pipeline = IngestPipeline(container.settings, container.store, container.embeddings)
        roots = sorted({s.source_root for s in sources} | {str(p.resolve()) for p in paths})
        report = pipeline.run(
            sources,
            prune_roots=roots if prune else (),
            failures=[Failure(f.path, f.reason) for f in skipped],
        )
    else:
        raise typer.BadParameter("give PATH… or --oparl URL")
    if as_json:
        _print_json(report.to_json())
        return
    summary = report.to_json()["documents"]
    typer.echo(
        f"Dokumente: {summary['new']} neu, {summary['changed']} geändert, "
        f"{summary['unchanged']} unverändert, {summary['removed']} entfernt, "
        f"{summary['failed']} fehlgeschlagen · Abschnitte geschrieben: {report.chunks_written} "
        f"(eingebettet: {report.chunks_embedded}) · {report.seconds:.1f} s"
    )
    for failure in report.failures:
        typer.secho(f"  übersprungen / skipped: {failure.path}: {failure.reason}", err=True)


@app.command()
@_reports_errors
def sources(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the indexed documents with their metadata."""
    from chatbot.documents import DocumentService

    rows = DocumentService(_container()).list_sources()
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['date'] or '----------'}  {row['reference'] or '-':<14} "
            f"{row['type'] or '-':<22} {row['visibility']:<8} {row['chunks']:>3}  {row['title']}"
        )
    typer.echo(f"{len(rows)} Dokumente")


@app.command()
@_reports_errors
def remove(
    keys: Annotated[list[str], typer.Argument(help="Document ids or reference numbers.")],
) -> None:
    """Remove documents from the index by document id or reference number."""
    from chatbot.documents import DocumentService
    from ingest.pipeline import IngestPipeline

    container = _container()
    ids, unknown = DocumentService(container).resolve_keys(keys)
    pipeline = IngestPipeline(container.settings, container.store, container.embeddings)
    removed = pipeline.remove(ids)
    typer.echo(f"{removed} Dokument(e) entfernt.")
    if unknown:
        typer.secho(f"Nicht gefunden / not found: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)


def _parse_date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} expects YYYY-MM-DD, got {value!r}") from None


@app.command()
@_reports_errors
def ask(
    question: Annotated[str, typer.Argument(help="The question, in German or English.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    audience: Annotated[str, typer.Option(help="public or staff.")] = "public",
    doc_type: Annotated[
        list[str] | None, typer.Option("--type", help="Document type or code (BV, Antrag, …).")
    ] = None,
    committee: Annotated[str | None, typer.Option(help="Committee (Gremium).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Documents dated on or after YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Documents dated on or before YYYY-MM-DD.")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Reference number, e.g. BV/0123/2024.")
    ] = None,
    timeline: Annotated[
        bool, typer.Option("--timeline", help="Show the history of the topic by date.")
    ] = False,
    history: Annotated[
        list[str] | None, typer.Option("--history", help="Earlier questions of the conversation.")
    ] = None,
) -> None:
    """Answer a question with numbered citations (or an honest refusal)."""
    from chatbot.answer.base import Turn
    from chatbot.render import answer_json, answer_text, timeline_json, timeline_text
    from chatbot.retrieval import SearchFilters
    from chatbot.service import AskOptions, AskService

    if audience not in AUDIENCES:
        raise typer.BadParameter("--audience must be public or staff")
    options = AskOptions(
        audience="staff" if audience == "staff" else "public",
        filters=SearchFilters(
            doc_types=doc_type or [],
            committee=committee,
            since=_parse_date(since, "--since"),
            until=_parse_date(until, "--until"),
            reference=reference,
        ),
        history=[Turn(q) for q in history or []],
    )
    service = AskService(_container())
    if timeline:
        entries = service.timeline(question, options)
        typer.echo(
            json.dumps(timeline_json(entries), ensure_ascii=False, indent=2)
            if as_json
            else timeline_text(entries)
        )
        return
    answer = service.ask(question, options)
    typer.echo(
        json.dumps(answer_json(answer), ensure_ascii=False, indent=2)
        if as_json
        else answer_text(answer)
    )


@app.command()
@_reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (uvicorn).")] = 1,
) -> None:
    """Serve the HTTP API, the citizen widget and the staff console."""
    from chatbot.api.server import run

    run(load_settings(), host=host, port=port, workers=workers)


@app.command("eval")
@_reports_errors
def evaluate(
    questions: Annotated[Path, typer.Argument(help="Question set (JSONL or YAML).")],
    report: Annotated[
        Path | None, typer.Option(help="Write JSON, Markdown, HTML and JUnit reports here.")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="A previous report JSON to compare against.")
    ] = None,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=VALUE: exit non-zero when a metric is below its bound."),
    ] = None,
    fail_over: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=VALUE: exit non-zero when a latency or rate is above it."),
    ] = None,
    k: Annotated[int, typer.Option(help="Documents considered for retrieval metrics.")] = 5,
    judge: Annotated[
        bool, typer.Option(help="Also judge grounding with the configured generative model.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report JSON.")] = False,
) -> None:
    """Run a regression question set and report retrieval, answer and grounding metrics."""
    from eval.cli import run_eval_command

    code = run_eval_command(
        _container(),
        questions,
        report_dir=report,
        baseline=baseline,
        fail_under=fail_under or [],
        fail_over=fail_over or [],
        k=k,
        judge=judge,
        as_json=as_json,
    )
    if code:
        raise typer.Exit(code)
