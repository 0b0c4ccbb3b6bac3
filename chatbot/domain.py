"""Domain types shared by ingestion, retrieval, answering and evaluation.

Chunks travel as LangChain ``Document`` objects whose metadata follows ``ChunkMetadata``;
the dataclasses here describe documents, evidence and answers independent of any backend.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from langchain_core.documents import Document

Visibility = Literal["public", "internal"]
Audience = Literal["public", "staff"]

VISIBILITIES: tuple[Visibility, ...] = ("public", "internal")
AUDIENCES: tuple[Audience, ...] = ("public", "staff")


# Sections that state what a document decides, asks or answers.
DECISIVE_SECTIONS = frozenset(
    {"Beschlussempfehlung", "Beschlussvorschlag", "Beschluss", "Antrag", "Stellungnahme",
     "Antwort", "Unterrichtung", "Anfrage", "Zusammenfassung", "Ergebnis"}
)  # fmt: skip


def visible_to(audience: Audience) -> list[Visibility]:
    """The visibilities an audience may retrieve: the public sees public documents only."""
    return ["public"] if audience == "public" else ["public", "internal"]


@dataclass(frozen=True)
class PageText:
    """The text of one page (``number`` is 1-based; ``None`` for formats without pages)."""

    number: int | None
    text: str


@dataclass
class RawDocument:
    """What a loader returns: the text of one file or OParl object, page by page."""

    source: str
    pages: list[PageText]
    title: str | None = None


@dataclass(frozen=True)
class CommitteeSession:
    """One step of the Gremienweg: a committee and the date it deals with the document."""

    committee: str
    date: str | None = None


@dataclass
class DocumentMetadata:
    """Metadata of one council document; unknown fields stay empty, never invented."""

    document_id: str
    title: str = ""
    doc_type: str = ""
    type_code: str = ""
    reference: str = ""
    references: list[str] = field(default_factory=list)
    date: str = ""
    office: str = ""
    committees: list[CommitteeSession] = field(default_factory=list)
    visibility: Visibility = "public"
    source: str = ""
    url: str = ""
    content_hash: str = ""

    @property
    def date_int(self) -> int:
        """The date as a sortable integer (20240131), 0 when unknown: Chroma ranges need numbers."""
        return int(self.date.replace("-", "")) if self.date else 0

    def to_json(self) -> dict[str, Any]:
        """A plain JSON-able dict of all fields."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentMetadata:
        """Inverse of ``to_json``."""
        data = dict(data)
        data["committees"] = [CommitteeSession(**c) for c in data.get("committees", [])]
        return cls(**data)

    def chunk_metadata(self, *, page: int | None, section: str, index: int) -> dict[str, Any]:
        """Flat metadata of one chunk as stored in Chroma (scalars and non-empty string lists)."""
        meta: dict[str, Any] = {
            "document_id": self.document_id,
            "title": self.title,
            "doc_type": self.doc_type,
            "type_code": self.type_code,
            "reference": self.reference,
            "date": self.date,
            "date_int": self.date_int,
            "office": self.office,
            "visibility": self.visibility,
            "source": self.source,
            "url": self.url,
            "content_hash": self.content_hash,
            "page": page or 0,
            "section": section,
            "chunk_index": index,
            "gremienweg": json.dumps([asdict(c) for c in self.committees], ensure_ascii=False),
        }
        # Chroma rejects empty arrays; absent keys simply never match an array filter.
        if self.references:
            meta["references"] = list(self.references)
        if self.committees:
            meta["committees"] = sorted({c.committee for c in self.committees})
        return meta


@dataclass
class ParsedDocument:
    """A cleaned document with its metadata, ready for chunking."""

    metadata: DocumentMetadata
    pages: list[PageText]


def chunk_page(chunk: Document) -> int | None:
    """The 1-based page of a chunk, or None for formats without pages."""
    page = int(chunk.metadata.get("page", 0) or 0)
    return page or None


@dataclass
class Citation:
    """A numbered source of an answer, resolved to a retrieved chunk."""

    n: int
    document_id: str
    chunk_id: str
    title: str
    reference: str
    date: str
    doc_type: str
    page: int | None
    source: str
    url: str
    score: float
    snippet: str
    visibility: Visibility = "public"


@dataclass
class Answer:
    """The result of one question: the text, whether it is a refusal, and its citations."""

    text: str
    refused: bool
    citations: list[Citation]
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    retrieved_documents: list[str] = field(default_factory=list)
    """Ids of the documents retrieval ranked, best first (for retrieval metrics)."""
