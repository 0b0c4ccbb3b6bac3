"""Hybrid retrieval: German BM25 and dense search in Chroma, fused by weighted reciprocal rank
fusion, with reference-number lookup, metadata filters and the audience's visibility scope.

The audience scope is part of every query *inside* both indexes: a public request cannot
retrieve an internal chunk, whatever the filters or the question say.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from chatbot.domain import DECISIVE_SECTIONS, Audience, Visibility, visible_to
from chatbot.lexical import LexicalIndex, LexicalIndexManager
from chatbot.references import DOC_TYPES, find_references
from chatbot.settings import Settings
from chatbot.store import ChunkStore, DocumentRecord, Where

log = logging.getLogger(__name__)

_CANDIDATES = 40


@dataclass
class SearchFilters:
    """Filters a caller may set; each becomes a clause of the store query."""

    doc_types: list[str] = field(default_factory=list)
    committee: str | None = None
    since: date | None = None
    until: date | None = None
    reference: str | None = None
    visibility: Visibility | None = None

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not (
            self.doc_types
            or self.committee
            or self.since
            or self.until
            or self.reference
            or self.visibility
        )


@dataclass
class RetrievedChunk:
    """A chunk with its fused score and the evidence behind it."""

    chunk: Document
    score: float
    lexical_score: float = 0.0
    dense_score: float = 0.0
    via_reference: bool = False

    @property
    def chunk_id(self) -> str:
        """The chunk's id in the store."""
        return str(self.chunk.id)

    @property
    def document_id(self) -> str:
        """The id of the chunk's document."""
        return str(self.chunk.metadata.get("document_id", ""))


def type_codes(names: Sequence[str]) -> list[str]:
    """Document type names or codes ("Beschlussvorlage", "bv") as reference codes ("BV")."""
    by_name = {name.lower(): code for code, name in DOC_TYPES.items()}
    codes: list[str] = []
    for name in names:
        key = name.strip()
        code = key.upper() if key.upper() in DOC_TYPES else by_name.get(key.lower())
        if code is None:
            raise ValueError(f"unknown document type {name!r}")
        codes.extend(c for c, n in DOC_TYPES.items() if n == DOC_TYPES[code])
    return sorted(set(codes))


def build_where(
    filters: SearchFilters, audience: Audience, committees: Sequence[str] = ()
) -> Where:
    """The store filter for a request; the audience's visibility clause is always present.

    ``committees`` are the exact committee names matching the caller's committee filter.
    """
    allowed = visible_to(audience)
    if filters.visibility:
        allowed = [v for v in allowed if v == filters.visibility] or ["public"]
    clauses: list[Where] = [
        {"visibility": allowed[0]} if len(allowed) == 1 else {"visibility": {"$in": allowed}}
    ]
    if filters.doc_types:
        clauses.append({"type_code": {"$in": type_codes(filters.doc_types)}})
    if filters.committee is not None:
        names = list(committees) or [filters.committee]
        options: list[Where] = [{"committees": {"$contains": name}} for name in names]
        clauses.append(options[0] if len(options) == 1 else {"$or": options})
    if filters.since:
        clauses.append({"date_int": {"$gte": _date_int(filters.since)}})
    if filters.until:
        clauses.append({"date_int": {"$lte": _date_int(filters.until)}})
    if filters.reference:
        ref = filters.reference.strip().upper()
        clauses.append({"$or": [{"reference": ref}, {"references": {"$contains": ref}}]})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def matching_committees(records: dict[str, DocumentRecord], query: str | None) -> list[str]:
    """Exact committee names in the registry that contain ``query`` (case-insensitive)."""
    if not query:
        return []
    needle = query.strip().lower()
    names = {c.committee for r in records.values() for c in r.metadata.committees}
    return sorted(n for n in names if needle in n.lower())


def _date_int(value: date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


def _and(where: Where, clause: Where) -> Where:
    if "$and" in where:
        return {"$and": [*where["$and"], clause]}
    return {"$and": [where, clause]}


class HybridRetriever:
    """Dense + lexical retrieval over one store, with a lexical index kept in step."""

    def __init__(self, settings: Settings, store: ChunkStore) -> None:
        self.settings = settings
        self.store = store
        path = None if settings.uses_chroma_server else settings.data_dir / "lexical.pkl"
        self.lexical = LexicalIndexManager(store, path, settings.lexical_refresh_seconds)
        self.lexical_weight = settings.fusion_lexical_weight
        self.dense_weight = settings.fusion_dense_weight
        self.rrf_k = settings.fusion_rrf_k
        self.gate = settings.fusion_gate

    def _lexical_margin(self, lexical: dict[str, RetrievedChunk]) -> float:
        """How decisive the BM25 ranking is: 0 (tie or no hit) … 1 (one clear winner).

        With the gate on, the dense ranking only reorders what BM25 leaves undecided, so the
        weak English embedding model cannot pull a strong German lexical hit down.
        """
        if not self.gate or not lexical:
            return 0.0
        scores = sorted((item.lexical_score for item in lexical.values()), reverse=True)
        if len(scores) == 1:
            return 1.0
        return (scores[0] - scores[1]) / scores[0] if scores[0] > 0 else 0.0

    def retrieve(
        self,
        query: str,
        *,
        audience: Audience = "public",
        filters: SearchFilters | None = None,
        k: int = 6,
        mode: str = "hybrid",
    ) -> list[RetrievedChunk]:
        """The top-k chunks for ``query``; ``mode`` is hybrid, lexical or dense (benchmarks)."""
        filters = filters or SearchFilters()
        committees = (
            matching_committees(self.store.documents(), filters.committee)
            if filters.committee
            else []
        )
        where = build_where(filters, audience, committees)
        index = self.lexical.index()
        fused: dict[str, RetrievedChunk] = {}
        if mode in ("hybrid", "lexical"):
            for rank, (slot, score) in enumerate(index.search(query, _CANDIDATES, where)):
                chunk_id, text, meta = index.chunk(slot)
                item = fused.setdefault(
                    chunk_id,
                    RetrievedChunk(Document(id=chunk_id, page_content=text, metadata=meta), 0.0),
                )
                item.lexical_score = score
                item.score += self.lexical_weight / (self.rrf_k + rank + 1)
        if mode in ("hybrid", "dense"):
            dense_weight = self.dense_weight * (1.0 - self._lexical_margin(fused))
            active = index.active_hashes()
            dense = self.store.similarity_search(query, _CANDIDATES, where)
            rank = 0
            for doc, similarity in dense:
                # Chunks of a version that is not (or no longer) active are never shown.
                if active.get(doc.metadata.get("document_id", "")) != doc.metadata.get(
                    "content_hash"
                ):
                    continue
                item = fused.setdefault(str(doc.id), RetrievedChunk(doc, 0.0))
                item.dense_score = similarity
                item.score += dense_weight / (self.rrf_k + rank + 1)
                rank += 1
        ranked = sorted(fused.values(), key=lambda r: r.score, reverse=True)
        if mode == "hybrid":
            ranked = self._reference_first(query, index, where, ranked)
        return ranked[:k]

    def _reference_first(
        self, query: str, index: LexicalIndex, where: Where, ranked: list[RetrievedChunk]
    ) -> list[RetrievedChunk]:
        """Put the documents a question names by reference number first, then related ones."""
        references = find_references(query)
        if not references:
            return ranked
        named: list[RetrievedChunk] = []
        related: list[RetrievedChunk] = []
        for reference in references:
            own = _and(where, {"reference": reference})
            best = self._best_of_documents(query, index, own, ranked, per_document=2)
            named.extend(best)
            named.extend(_decisive_chunks(index, {item.document_id for item in best}))
            refers = _and(where, {"references": {"$contains": reference}})
            related.extend(self._best_of_documents(query, index, refers, ranked, per_document=1))
        seen: set[str] = set()
        ordered: list[RetrievedChunk] = []
        for item in [*named, *related, *ranked]:
            if item.chunk_id not in seen:
                seen.add(item.chunk_id)
                ordered.append(item)
        return ordered

    def _best_of_documents(
        self,
        query: str,
        index: LexicalIndex,
        where: Where,
        ranked: list[RetrievedChunk],
        per_document: int,
    ) -> list[RetrievedChunk]:
        """The best chunks of each document matching ``where``: by score, else reading order."""
        by_id = {r.chunk_id: r for r in ranked}
        hits = [(slot, score) for slot, score in index.search(query, 200, where)]
        picked: dict[str, list[RetrievedChunk]] = {}
        for slot, score in hits:
            chunk_id, text, meta = index.chunk(slot)
            doc_chunks = picked.setdefault(meta["document_id"], [])
            if len(doc_chunks) < per_document:
                item = by_id.get(chunk_id) or RetrievedChunk(
                    Document(id=chunk_id, page_content=text, metadata=meta), 0.0, score
                )
                item.via_reference = True
                doc_chunks.append(item)
        if not picked:
            # The question names the document but shares no other words with it.
            for document_id in _matching_documents(index, where):
                slots = index.document_slots(document_id)[:per_document]
                picked[document_id] = [
                    RetrievedChunk(
                        Document(id=cid, page_content=text, metadata=meta), 0.0, via_reference=True
                    )
                    for cid, text, meta in (index.chunk(s) for s in slots)
                ]
        return [item for items in picked.values() for item in items]


def _decisive_chunks(index: LexicalIndex, document_ids: set[str]) -> list[RetrievedChunk]:
    """The first chunk of each document's decisive section (Beschlussempfehlung, Antwort …)."""
    found = []
    for document_id in sorted(document_ids):
        for slot in index.document_slots(document_id):
            chunk_id, text, meta = index.chunk(slot)
            if meta.get("section") in DECISIVE_SECTIONS:
                document = Document(id=chunk_id, page_content=text, metadata=meta)
                found.append(RetrievedChunk(document, 0.0, via_reference=True))
                break
    return found


def _matching_documents(index: LexicalIndex, where: Where) -> list[str]:
    from chatbot.wherefilter import matches

    found: list[str] = []
    for document_id in index.docs:
        slots = index.document_slots(document_id)
        if slots and matches(index.chunk(slots[0])[2], where):
            found.append(document_id)
    return found


class SchaengelRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever, for use in any LangChain chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    audience: Audience = "public"
    filters: SearchFilters = SearchFilters()
    k: int = 6

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        results = self.hybrid.retrieve(
            query, audience=self.audience, filters=self.filters, k=self.k
        )
        documents = []
        for item in results:
            metadata = {**item.chunk.metadata, "score": item.score}
            documents.append(
                Document(id=item.chunk.id, page_content=item.chunk.page_content, metadata=metadata)
            )
        return documents
