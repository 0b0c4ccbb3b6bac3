"""Listing, looking up and resolving indexed documents (the registry view of the index)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatbot.container import Container
from chatbot.store import DocumentRecord


def source_row(record: DocumentRecord) -> dict[str, Any]:
    """The public description of one indexed document (``schaengel sources --json``)."""
    meta = record.metadata
    return {
        "document_id": meta.document_id,
        "title": meta.title,
        "type": meta.doc_type,
        "type_code": meta.type_code,
        "reference": meta.reference,
        "references": meta.references,
        "date": meta.date,
        "office": meta.office,
        "committees": [{"committee": c.committee, "date": c.date} for c in meta.committees],
        "visibility": meta.visibility,
        "source": meta.source,
        "url": meta.url,
        "chunks": record.chunks,
    }


class DocumentService:
    """Read access to the document registry."""

    def __init__(self, container: Container) -> None:
        self.store = container.store

    def list_sources(self) -> list[dict[str, Any]]:
        """All indexed documents, newest first."""
        records = sorted(
            self.store.documents().values(),
            key=lambda r: (r.metadata.date, r.metadata.reference, r.document_id),
            reverse=True,
        )
        return [source_row(r) for r in records]

    def resolve_keys(self, keys: Sequence[str]) -> tuple[list[str], list[str]]:
        """Map document ids or reference numbers to document ids; also return unknown keys."""
        records = self.store.documents()
        by_reference: dict[str, list[str]] = {}
        for record in records.values():
            if record.metadata.reference:
                by_reference.setdefault(record.metadata.reference.upper(), []).append(
                    record.document_id
                )
        ids: list[str] = []
        unknown: list[str] = []
        for key in keys:
            if key in records:
                ids.append(key)
            elif key.strip().upper() in by_reference:
                ids.extend(by_reference[key.strip().upper()])
            else:
                unknown.append(key)
        return list(dict.fromkeys(ids)), unknown
