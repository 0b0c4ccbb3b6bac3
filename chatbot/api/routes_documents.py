"""``GET /api/v1/documents`` (filters, pagination) and ``GET /api/v1/documents/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from chatbot.api.deps import CallerAudience, RateLimited, State
from chatbot.api.routes_ask import search_filters
from chatbot.api.schemas import DocumentDetail, DocumentList, DocumentSummary, FilterFields

router = APIRouter(prefix="/api/v1/documents", tags=["Dokumente"], dependencies=[RateLimited])


class DocumentQuery(FilterFields):
    """Filters and page of the document list (unknown parameters are rejected)."""

    offset: int = Field(0, ge=0, le=100_000)
    limit: int = Field(20, ge=1, le=100)


@router.get("", response_model=DocumentList, summary="Dokumente auflisten")
async def list_documents(
    query: Annotated[DocumentQuery, Query()], state: State, audience: CallerAudience
) -> DocumentList:
    """The documents the caller may see, newest first."""
    rows, total = await run_in_threadpool(
        state.documents.list_documents,
        audience,
        search_filters(query),
        query.offset,
        query.limit,
    )
    return DocumentList(
        items=[DocumentSummary.from_row(r) for r in rows],
        total=total,
        offset=query.offset,
        limit=query.limit,
    )


@router.get("/{document_id}", response_model=DocumentDetail, summary="Ein Dokument lesen")
async def get_document(
    document_id: Annotated[str, Path(max_length=200)], state: State, audience: CallerAudience
) -> DocumentDetail:
    """Metadata and full text; 404 when it does not exist or is not visible to the caller."""
    row = await run_in_threadpool(state.documents.get_document, document_id, audience)
    return DocumentDetail.from_row(row)
