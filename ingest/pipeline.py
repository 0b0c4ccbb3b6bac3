"""load → clean → metadata → chunk → embed → write, incrementally and crash-safely.

Order of writes per changed document: all new chunks (ids carry the new content hash), then the
registry record that makes the new version active, then deletion of the old version's chunks.
A crash at any point leaves the previously active version answerable; the next run finds the
document still changed (or marked dirty) and completes the work, re-using chunks already stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any

from filelock import FileLock, Timeout
from tqdm import tqdm

from chatbot.domain import CommitteeSession, DocumentMetadata, ParsedDocument
from chatbot.embedding import CountingEmbeddings
from chatbot.errors import DocumentLoadError, IngestLockedError
from chatbot.settings import Settings
from chatbot.store import ChunkStore, DocumentRecord
from ingest.chunking import TextChunk, chunk_pages
from ingest.cleaning import clean_pages
from ingest.metadata import extract_metadata
from ingest.sources import SourceDocument

log = logging.getLogger(__name__)

PIPELINE_VERSION = "1"
_EMBED_BATCH_CHUNKS = 256
_HEADER_TOKENS = 40


@dataclass
class Failure:
    """A document that could not be ingested, and why."""

    path: str
    reason: str


@dataclass
class IngestReport:
    """What one ingest run did; ``--json`` prints exactly this."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: list[Failure] = field(default_factory=list)
    chunks_written: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary."""
        return {
            "documents": {
                "new": self.new,
                "changed": self.changed,
                "unchanged": self.unchanged,
                "removed": self.removed,
                "failed": len(self.failures),
            },
            "failures": [{"path": f.path, "reason": f.reason} for f in self.failures],
            "chunks_written": self.chunks_written,
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
        }


@dataclass
class _Prepared:
    source: SourceDocument
    parsed: ParsedDocument
    chunks: list[TextChunk]
    is_new: bool
    ids: list[str] = field(default_factory=list)
    embed_texts: list[str] = field(default_factory=list)


class IngestPipeline:
    """Brings the index in line with a set of source documents."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        embeddings: CountingEmbeddings,
        *,
        show_progress: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embeddings = embeddings
        self.show_progress = show_progress
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._renewed = time.monotonic()
        self.max_tokens = min(
            settings.chunk_max_tokens or embeddings.max_tokens, embeddings.max_tokens
        )

    def fingerprint_salt(self) -> str:
        """Everything besides the file that changes chunks: re-ingest when it changes."""
        s = self.settings
        return (
            f"{PIPELINE_VERSION}|{self.embeddings.model_name}|{self.max_tokens}"
            f"|{s.chunk_overlap_tokens}"
        )

    def run(
        self,
        sources: Sequence[SourceDocument],
        *,
        prune_roots: Sequence[str] = (),
        failures: Sequence[Failure] = (),
    ) -> IngestReport:
        """Ingest ``sources``; with ``prune_roots``, remove documents gone from those roots."""
        started = time.perf_counter()
        report = IngestReport(failures=list(failures))
        with self._exclusive() as unclean:
            registry = self.store.documents()
            if unclean:
                self._repair_after_crash(registry)
            self._finish_interrupted(registry)
            try:
                self._ingest_sources(sources, report, registry, prune_roots)
            except BaseException:
                if report.new or report.changed or report.removed:
                    # Documents committed before the failure are live in the store: tell the
                    # API workers, or they would keep the old version until the next ingest
                    # while newly started workers show the new one.
                    self._bump_generation_after_failure()
                raise
            if report.new or report.changed or report.removed:
                self.store.bump_generation()
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_sources(
        self,
        sources: Sequence[SourceDocument],
        report: IngestReport,
        registry: dict[str, DocumentRecord],
        prune_roots: Sequence[str],
    ) -> None:
        """Load, embed and write the changed sources; then prune what left ``prune_roots``."""
        pending: list[_Prepared] = []
        salt = self.fingerprint_salt()
        with tqdm(
            total=len(sources), desc="Dokumente", unit="Dok.", disable=not self.show_progress
        ) as bar:  # closed on failure too, so that an error message starts its own line
            for source in sources:
                fingerprint = f"{source.fingerprint}|{salt}"
                existing = registry.get(source.document_id)
                if existing and existing.metadata.content_hash == _short(fingerprint):
                    report.unchanged += 1
                    bar.update(1)
                    continue
                prepared = self._prepare(source, _short(fingerprint), existing is None, report)
                if prepared:
                    pending.append(prepared)
                else:
                    bar.update(1)
                if sum(len(p.chunks) for p in pending) >= _EMBED_BATCH_CHUNKS:
                    self._write(pending, report, registry, bar)
                    pending = []
            self._write(pending, report, registry, bar)
        if prune_roots:
            seen = {s.document_id for s in sources}
            failed = {f.path for f in report.failures}
            report.removed = self._prune(registry, prune_roots, seen, failed)

    def _bump_generation_after_failure(self) -> None:
        """Best effort: the store itself may be what failed; the original error matters more."""
        try:
            self.store.bump_generation()
        except Exception as exc:
            log.warning("could not announce the documents written before the failure: %s", exc)

    def remove(self, document_ids: Sequence[str]) -> int:
        """Remove documents by id; returns how many were removed."""
        with self._exclusive():
            for document_id in document_ids:
                self.store.remove_document(document_id)
            if document_ids:
                self.store.bump_generation()
        return len(document_ids)

    # --- steps ----------------------------------------------------------------------------
    def _prepare(
        self, source: SourceDocument, content_hash: str, is_new: bool, report: IngestReport
    ) -> _Prepared | None:
        try:
            raw = source.load()
            pages = clean_pages(raw.pages)
            text = "\n\n".join(p.text for p in pages)
            if not text.strip():
                raise DocumentLoadError("no text left after cleaning")
            metadata = extract_metadata(
                text, document_id=source.document_id, source=source.source, title_hint=raw.title
            )
            _apply_overrides(metadata, source, content_hash)
            header = self._embedding_header(metadata)
            chunks = chunk_pages(
                pages,
                self.embeddings.count_tokens,
                self.max_tokens - self.embeddings.count_tokens(header) - 1,
                self.settings.chunk_overlap_tokens,
            )
        except DocumentLoadError as exc:
            report.failures.append(Failure(source.source, str(exc)))
            log.warning("skipped %s: %s", source.source, exc)
            return None
        prepared = _Prepared(source, ParsedDocument(metadata, pages), chunks, is_new)
        prepared.ids = [
            f"{source.document_id}:{content_hash[:12]}:{i:04d}" for i in range(len(chunks))
        ]
        # What the embedder sees: a short document header, then the chunk (contextual chunks).
        prepared.embed_texts = [f"{header}\n{c.text}" if header else c.text for c in chunks]
        return prepared

    def _embedding_header(self, metadata: DocumentMetadata) -> str:
        """Reference and title, cut to a few tokens so that chunks keep most of the input."""
        words = " · ".join(p for p in (metadata.reference, metadata.title) if p).split()
        while words and self.embeddings.count_tokens(" ".join(words)) > _HEADER_TOKENS:
            words.pop()
        return " ".join(words)

    def _write(
        self,
        pending: list[_Prepared],
        report: IngestReport,
        registry: dict[str, DocumentRecord],
        bar: Any,
    ) -> None:
        if not pending:
            return
        stored = self._already_stored([i for p in pending for i in p.ids])
        todo = [(p, i, t) for p in pending for i, t in zip(p.ids, p.embed_texts, strict=True)]
        to_embed = [(i, t) for _, i, t in todo if i not in stored]
        started = time.perf_counter()
        vectors = dict(
            zip(
                [i for i, _ in to_embed],
                self.embeddings.embed_documents([t for _, t in to_embed]) if to_embed else [],
                strict=True,
            )
        )
        report.embed_seconds += time.perf_counter() - started
        report.chunks_embedded += len(to_embed)
        for prepared in pending:
            self._write_document(prepared, vectors, report, registry)
            bar.update(1)
        if time.monotonic() - self._renewed > 60:
            self.store.renew_ingest_run(self._owner)
            self._renewed = time.monotonic()

    def _write_document(
        self,
        prepared: _Prepared,
        vectors: dict[str, list[float]],
        report: IngestReport,
        registry: dict[str, DocumentRecord],
    ) -> None:
        metadata = prepared.parsed.metadata
        new_ids = [i for i in prepared.ids if i in vectors]
        if new_ids:
            position = {chunk_id: n for n, chunk_id in enumerate(prepared.ids)}
            self.store.upsert_chunks(
                new_ids,
                [prepared.chunks[position[i]].text for i in new_ids],
                [
                    metadata.chunk_metadata(
                        page=prepared.chunks[position[i]].page,
                        section=prepared.chunks[position[i]].section,
                        index=position[i],
                    )
                    for i in new_ids
                ],
                [vectors[i] for i in new_ids],
            )
        record = DocumentRecord(
            metadata=metadata,
            chunks=len(prepared.ids),
            source_root=prepared.source.source_root,
            dirty=not prepared.is_new,
        )
        self.store.commit_document(record)
        if record.dirty:
            self.store.delete_chunks(metadata.document_id, keep_hash=metadata.content_hash)
            record.dirty = False
            self.store.commit_document(record)
        registry[metadata.document_id] = record
        report.chunks_written += len(new_ids)
        if prepared.is_new:
            report.new += 1
        else:
            report.changed += 1

    def _already_stored(self, ids: list[str]) -> set[str]:
        """Chunk ids already in the store (left by an interrupted run): not embedded again."""
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            found.update(c.id for c in self.store.get_chunks(ids=ids[start : start + 500]) if c.id)
        return found

    def _finish_interrupted(self, registry: dict[str, DocumentRecord]) -> None:
        for record in registry.values():
            if record.dirty:
                self.store.delete_chunks(record.document_id, keep_hash=record.metadata.content_hash)
                record.dirty = False
                self.store.commit_document(record)

    def _prune(
        self,
        registry: dict[str, DocumentRecord],
        roots: Sequence[str],
        seen: set[str],
        failed: set[str],
    ) -> int:
        removed = 0
        for document_id, record in list(registry.items()):
            in_roots = record.source_root in roots
            # A file that failed to load this time keeps its previous version.
            if in_roots and document_id not in seen and record.metadata.source not in failed:
                self.store.remove_document(document_id)
                del registry[document_id]
                removed += 1
        return removed

    @contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """One ingest at a time: a file lock locally plus a run marker in the registry.

        Yields True when the previous run on this index did not finish (killed, crashed).
        """
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.settings.data_dir / "ingest.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise IngestLockedError(
                "another ingest is running on this data directory; try again when it has finished"
            ) from None
        try:
            exclusive = not self.settings.uses_chroma_server
            with self.store.ingest_run(self._owner, exclusive_locally=exclusive) as unclean:
                yield unclean
        finally:
            lock.release()

    def _repair_after_crash(self, registry: dict[str, DocumentRecord]) -> None:
        """Drop chunks whose vectors Chroma lost in a crash; their documents are redone."""
        broken = self.store.unreadable_vectors(self.store.chunk_ids())
        if not broken:
            return
        log.warning("repairing %d chunks left incomplete by an interrupted ingest", len(broken))
        self.store.delete_chunk_ids(broken)
        for document_id in {chunk_id.split(":", 1)[0] for chunk_id in broken}:
            record = registry.get(document_id)
            if record is not None:
                # An empty hash never matches: the document is ingested again in this run.
                record.metadata.content_hash = ""
                self.store.commit_document(record)


def _short(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:32]


def _apply_overrides(metadata: DocumentMetadata, source: SourceDocument, content_hash: str) -> None:
    for key, value in source.overrides.items():
        # Keys that are no metadata field (OParl originators, …) are kept for later use.
        if key not in _OVERRIDE_FIELDS or value in (None, "", []):
            continue
        if key == "committees":  # JSON-shaped sessions from sidecars or OParl
            value = [_committee_session(v) for v in value]
        setattr(metadata, key, value)
    metadata.visibility = source.visibility
    metadata.content_hash = content_hash
    if not metadata.source:
        metadata.source = source.source


_OVERRIDE_FIELDS = {f.name for f in fields(DocumentMetadata)} - {
    "document_id",
    "visibility",
    "content_hash",
}


def _committee_session(value: CommitteeSession | dict[str, Any]) -> CommitteeSession:
    """A session from a dict; keys CommitteeSession does not (yet) know, e.g. role, are dropped."""
    if isinstance(value, CommitteeSession):
        return value
    known = {f.name for f in fields(CommitteeSession)}
    return CommitteeSession(**{k: v for k, v in value.items() if k in known})
