"""Listing, looking up and resolving indexed documents (the registry view of the index)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import Document

from chatbot.container import Container
from chatbot.domain import Audience, visible_to
from chatbot.errors import NotFoundError
from chatbot.retrieval import SearchFilters, build_where, matching_committees
from chatbot.store import DocumentRecord, Where


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

    def list_documents(
        self,
        audience: Audience,
        filters: SearchFilters | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the documents ``audience`` may see that match ``filters``, newest first,
        and the total; the audience scope and the filters are part of the store query."""
        filters = filters or SearchFilters()
        records = self.store.documents()
        where = build_where(filters, audience, matching_committees(records, filters.committee))
        # The first chunk of each active document version stands for the document.
        first_chunks = self.store.get_chunks(where=_all_of(where, {"chunk_index": 0}))
        allowed = visible_to(audience)
        visible: dict[str, DocumentRecord] = {}
        for chunk in first_chunks:
            record = records.get(str(chunk.metadata.get("document_id", "")))
            if (
                record is not None
                and record.metadata.content_hash == chunk.metadata.get("content_hash")
                and record.metadata.visibility in allowed
            ):
                visible[record.document_id] = record
        ordered = sorted(
            visible.values(),
            key=lambda r: (r.metadata.date, r.metadata.reference, r.document_id),
            reverse=True,
        )
        return [source_row(r) for r in ordered[offset : offset + limit]], len(ordered)

    def get_document(self, document_id: str, audience: Audience) -> dict[str, Any]:
        """A document's row plus its text (chunks in reading order); NotFoundError when it does
        not exist *or* is not visible to ``audience`` (its existence is not revealed)."""
        scope = build_where(SearchFilters(), audience)
        # Two tries: an ingest may replace the version between reading the registry and its
        # chunks (the old chunks are deleted right after the new version becomes active).
        for _ in range(2):
            record = self.store.get_document(document_id)
            if record is None or record.metadata.visibility not in visible_to(audience):
                raise NotFoundError(f"document {document_id!r} not found")
            chunks = self.store.get_chunks(
                where=_all_of(
                    scope,
                    {"document_id": document_id},
                    {"content_hash": record.metadata.content_hash},
                )
            )
            if chunks:
                break
        else:
            raise NotFoundError(f"document {document_id!r} not found")
        chunks.sort(key=lambda c: int(c.metadata.get("chunk_index", 0)))
        return {**source_row(record), "text": assemble_text(chunks)}


def assemble_text(chunks: Sequence[Document]) -> str:
    """The text of ordered chunks without the overlap a chunk repeats from its predecessor."""
    parts: list[str] = []
    previous = ""
    for chunk in chunks:
        lines = chunk.page_content.split("\n")
        # A chunk may start with the trailing sentences of the previous one (overlap).
        if previous and lines and lines[0].strip() and previous.rstrip().endswith(lines[0].strip()):
            lines = lines[1:]
        text = "\n".join(lines).strip()
        if text:
            parts.append(text)
        previous = chunk.page_content
    return "\n".join(parts)


def _all_of(where: Where, *clauses: Where) -> Where:
    existing = list(where["$and"]) if "$and" in where else [where]
    return {"$and": [*existing, *clauses]}
