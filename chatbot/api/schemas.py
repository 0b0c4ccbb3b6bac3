"""Request and response bodies of the HTTP API, named by role (separate from domain types)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chatbot.domain import Answer, Citation
from chatbot.render import source_json
from chatbot.retrieval import type_codes

MAX_HISTORY = 20
MAX_ANSWER_CHARS = 8000


class FilterFields(BaseModel):
    """Metadata filters, as in ``schaengel ask --type/--committee/--since/--until/--reference``."""

    model_config = ConfigDict(extra="forbid")

    type: list[str] = Field(
        default_factory=list, description="Document types or codes (BV, Antrag …).", max_length=12
    )
    committee: str | None = Field(None, max_length=200, description="Committee (Gremium).")
    since: date | None = Field(None, description="Documents dated on or after (YYYY-MM-DD).")
    until: date | None = Field(None, description="Documents dated on or before (YYYY-MM-DD).")
    reference: str | None = Field(
        None, max_length=40, description="Reference number, e.g. BV/0123/2024."
    )

    @field_validator("type", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v for v in (part.strip() for part in value.split(",")) if v]
        return value

    @field_validator("type")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        try:
            type_codes(value)
        except ValueError:
            raise ValueError("unbekannter Dokumenttyp") from None
        return value

    @field_validator("committee", "reference")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class HistoryTurn(BaseModel):
    """An earlier exchange: the question and (optionally) the answer given."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1)
    answer: str = Field("", max_length=MAX_ANSWER_CHARS)


class AskRequest(FilterFields):
    """``POST /api/v1/ask``. The audience is never a field: it comes from authentication."""

    question: str = Field(min_length=1, description="The question, in German or English.")
    history: list[HistoryTurn | str] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="Earlier questions (strings) or {question, answer} turns, oldest first.",
    )
    timeline: bool = Field(False, description="Return the topic's documents by date instead.")
    stream: bool = Field(False, description="Answer as Server-Sent Events.")


class SourcePublic(BaseModel):
    """A numbered source of an answer (no server file paths)."""

    n: int
    document_id: str
    title: str
    reference: str
    date: str
    type: str
    page: int | None
    url: str = Field(description="The document's page in the council information system.")
    link: str = Field(description="Where to read it: ``url``, else this service's page.")
    score: float
    snippet: str
    visibility: Literal["public", "internal"]

    @classmethod
    def from_citation(cls, citation: Citation) -> SourcePublic:
        """From a domain citation, via the shape ``schaengel ask --json`` prints."""
        data = source_json(citation)
        url = safe_url(data["url"])
        return cls(
            **{k: v for k, v in data.items() if k not in ("source", "url")},
            url=url,
            link=url or document_page(citation.document_id),
            visibility=citation.visibility,
        )


class AskResponse(BaseModel):
    """A checked answer with its numbered sources."""

    answer_id: str = Field(description="Quote it when sending feedback.")
    answer: str
    refused: bool
    sources: list[SourcePublic]
    timings_ms: dict[str, float]
    standalone_question: str

    @classmethod
    def from_answer(cls, answer_id: str, answer: Answer) -> AskResponse:
        """From a domain answer."""
        return cls(
            answer_id=answer_id,
            answer=answer.text,
            refused=answer.refused,
            sources=[SourcePublic.from_citation(c) for c in answer.citations],
            timings_ms=answer.timings_ms,
            standalone_question=answer.standalone_question,
        )


class TimelineEntryOut(BaseModel):
    """One document in the history of a topic."""

    date: str
    type: str
    reference: str
    title: str
    snippet: str
    most_recent: bool
    source: SourcePublic


class TimelineResponse(BaseModel):
    """The documents on a topic, oldest first; the most recent statement is marked."""

    answer_id: str
    timeline: list[TimelineEntryOut]


class FeedbackRequest(BaseModel):
    """A rating of one answer."""

    model_config = ConfigDict(extra="forbid")

    answer_id: UUID
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackResponse(BaseModel):
    """Confirmation that feedback was stored."""

    stored: bool = True


class CommitteeOut(BaseModel):
    """One step of a document's Gremienweg."""

    committee: str
    date: str | None


class DocumentSummary(BaseModel):
    """A document's metadata as listed."""

    document_id: str
    title: str
    type: str
    type_code: str
    reference: str
    references: list[str]
    date: str
    office: str
    committees: list[CommitteeOut]
    visibility: Literal["public", "internal"]
    url: str
    link: str
    chunks: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DocumentSummary:
        """From a ``DocumentService`` row (``source`` paths are not exposed)."""
        url = safe_url(row.get("url", ""))
        fields = {k: v for k, v in row.items() if k in cls.model_fields and k != "url"}
        return cls(**fields, url=url, link=url or document_page(row["document_id"]))


class DocumentList(BaseModel):
    """One page of documents."""

    items: list[DocumentSummary]
    total: int
    offset: int
    limit: int


class DocumentDetail(DocumentSummary):
    """A document's metadata and full text."""

    text: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DocumentDetail:
        """From a ``DocumentService.get_document`` row."""
        summary = DocumentSummary.from_row(row)
        return cls(**summary.model_dump(), text=row["text"])


class ContentPart(BaseModel):
    """A part of an OpenAI message (only text parts are read)."""

    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """An OpenAI chat message."""

    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content or [] if p.type == "text" and p.text)


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions`` (OpenAI-compatible; unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=2 * MAX_HISTORY + 2)
    stream: bool = False
    filters: FilterFields | None = Field(None, description="Schängel extension: metadata filters.")


class ModelCard(BaseModel):
    """An entry of ``GET /v1/models``."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ServiceInfo(BaseModel):
    """What the widget and console need to know about this service and the caller."""

    name: str
    audience: Literal["public", "staff"]
    ai_notice: dict[str, str]
    questions_logged: bool
    max_question_chars: int


def safe_url(url: str) -> str:
    """Only http(s) links leave the service (never ``javascript:`` or file paths)."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def document_page(document_id: str) -> str:
    """This service's reading page of a document."""
    from urllib.parse import quote

    return f"/dokumente/{quote(document_id, safe='')}"
