"""Answers and timelines as JSON (``--json``, the API) and as readable terminal text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatbot.domain import Answer, Citation

if TYPE_CHECKING:
    from chatbot.service import TimelineEntry


def source_json(citation: Citation) -> dict[str, Any]:
    """One numbered source as the CLI and API show it."""
    return {
        "n": citation.n,
        "document_id": citation.document_id,
        "title": citation.title,
        "reference": citation.reference,
        "date": citation.date,
        "type": citation.doc_type,
        "page": citation.page,
        "source": citation.source,
        "url": citation.url,
        "score": citation.score,
        "snippet": citation.snippet,
    }


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer object of ``schaengel ask --json`` and ``POST /api/v1/ask``."""
    return {
        "answer": answer.text,
        "refused": answer.refused,
        "sources": [source_json(c) for c in answer.citations],
        "timings_ms": answer.timings_ms,
        "standalone_question": answer.standalone_question,
    }


def answer_text(answer: Answer) -> str:
    """The answer followed by its numbered sources, for a terminal."""
    lines = [answer.text, ""]
    for c in answer.citations:
        where = f", S. {c.page}" if c.page else ""
        lines.append(
            f"[{c.n}] {c.reference or '-'} · {c.doc_type or 'Dokument'} · {c.date or 'o. D.'}"
            f"{where} — {c.title}"
        )
        lines.append(f"    {c.url or c.source}")
    return "\n".join(lines).rstrip()


def timeline_json(entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    """The timeline as JSON: oldest first, the most recent statement marked."""
    return [
        {
            "date": e.date,
            "type": e.doc_type,
            "reference": e.reference,
            "title": e.title,
            "snippet": e.snippet,
            "most_recent": e.most_recent,
            "source": source_json(e.citation),
        }
        for e in entries
    ]


def timeline_text(entries: list[TimelineEntry]) -> str:
    """The timeline for a terminal."""
    if not entries:
        return "Keine Dokumente zu diesem Thema gefunden."
    lines = []
    for e in entries:
        mark = "  ← aktuellster Stand" if e.most_recent else ""
        lines.append(
            f"{e.date or 'o. D.'}  {e.reference or '-':<14} {e.doc_type:<22} {e.title}{mark}"
        )
        lines.append(f"            {e.snippet[:160]}")
    return "\n".join(lines)
