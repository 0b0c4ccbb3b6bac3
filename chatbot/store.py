"""Chroma access, embedded or server: the chunk collection and the document registry.

The registry (a second, tiny collection) holds one record per document with its *active*
content hash. A document version becomes visible by one registry write after all its chunks are
stored, so readers never mix versions: chunks of any other hash are orphans that readers skip
and the next ingest deletes. A generation counter in the registry tells other processes (API
workers) that the index changed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from langchain_core.documents import Document

from chatbot.domain import DocumentMetadata
from chatbot.embedding import CountingEmbeddings, LazyEmbeddings
from chatbot.errors import IngestWriteError, StoreUnavailableError
from chatbot.settings import Settings
from chatbot.wherefilter import matches

log = logging.getLogger(__name__)

Where = dict[str, Any]
T = TypeVar("T")

_GENERATION_ID = "__generation__"
_LOCK_ID = "__ingest_lock__"
_DUMMY_VECTOR = [1.0]
_READ_PAGE = 2000
_LEASE_SECONDS = 300.0


@dataclass
class DocumentRecord:
    """A registry entry: a document's metadata, its chunk count and where it came from."""

    metadata: DocumentMetadata
    chunks: int
    source_root: str = ""
    dirty: bool = False
    modified: float = 0.0

    @property
    def document_id(self) -> str:
        """The stable document id."""
        return self.metadata.document_id


class ChunkStore:
    """Chunks in Chroma (written and searched through langchain-chroma) plus the registry."""

    def __init__(self, settings: Settings, embeddings: Callable[[], CountingEmbeddings]) -> None:
        self.settings = settings
        self._embeddings = embeddings  # loaded only when a search or write needs vectors
        self._client: Any = None
        self._vectorstore: Any = None
        self._registry: Any = None

    # --- connection -------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Chroma client, created on first use."""
        if self._client is None:
            self._client = self._guard(self._connect)
        return self._client

    @property
    def vectorstore(self) -> Any:
        """The langchain-chroma vector store over the chunk collection."""
        if self._vectorstore is None:
            from langchain_chroma import Chroma

            self._vectorstore = self._guard(
                lambda: Chroma(
                    collection_name=self.settings.collection,
                    embedding_function=LazyEmbeddings(self._embeddings),
                    client=self.client,
                    collection_configuration={"hnsw": {"space": "cosine"}},
                )
            )
        return self._vectorstore

    @property
    def chunks(self) -> Any:
        """The raw Chroma collection of chunks."""
        return self.vectorstore._collection

    @property
    def registry(self) -> Any:
        """The raw Chroma collection of document records."""
        if self._registry is None:
            self._registry = self._guard(
                lambda: self.client.get_or_create_collection(
                    f"{self.settings.collection}-documents", embedding_function=None
                )
            )
        return self._registry

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        s = self.settings
        tenant_db: dict[str, Any] = {}
        if s.chroma_tenant:
            tenant_db["tenant"] = s.chroma_tenant
        if s.chroma_database:
            tenant_db["database"] = s.chroma_database
        if s.chroma_cloud_api_key:
            return chromadb.CloudClient(
                api_key=s.chroma_cloud_api_key.get_secret_value(),
                settings=chroma_settings,
                **tenant_db,
            )
        if s.chroma_host:
            return chromadb.HttpClient(
                host=s.chroma_host,
                port=s.chroma_port,
                ssl=s.chroma_ssl,
                headers=s.chroma_headers or None,
                settings=chroma_settings,
                **tenant_db,
            )
        path = s.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings, **tenant_db)

    def reset_connection(self) -> None:
        """Forget the client so that the next call reconnects (after a server restart)."""
        self._client = self._vectorstore = self._registry = None

    def _guard(self, operation: Callable[[], T]) -> T:
        """Run a store operation; connection and server failures become StoreUnavailableError."""
        try:
            return operation()
        except StoreUnavailableError:
            raise
        except Exception as exc:
            if _is_client_error(exc):
                raise
            self.reset_connection()
            log.warning("chroma unavailable: %s", exc.__class__.__name__)
            raise StoreUnavailableError(f"Chroma is unavailable: {exc}") from exc

    def heartbeat(self) -> None:
        """Check that the store answers; StoreUnavailableError otherwise."""
        self._guard(lambda: self.client.heartbeat())
        self._guard(lambda: self.chunks.count())

    # --- chunks -----------------------------------------------------------------------
    def max_batch_size(self) -> int:
        """Largest write batch the Chroma server accepts."""
        return int(self._guard(lambda: self.client.get_max_batch_size()))

    def upsert_chunks(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        vectors: Sequence[Sequence[float]],
    ) -> None:
        """Write chunks in batches below Chroma's limit; IngestWriteError if a write fails."""
        size = max(1, self.max_batch_size() - 1)
        for start in range(0, len(ids), size):
            end = start + size
            try:
                self.chunks.upsert(
                    ids=list(ids[start:end]),
                    documents=list(texts[start:end]),
                    metadatas=list(metadatas[start:end]),
                    embeddings=[list(v) for v in vectors[start:end]],
                )
            except Exception as exc:
                raise _write_error(exc) from exc

    def delete_chunks(self, document_id: str, keep_hash: str | None = None) -> None:
        """Delete a document's chunks, except those of the version ``keep_hash``."""
        where: Where = {"document_id": document_id}
        if keep_hash:
            where = {"$and": [where, {"content_hash": {"$ne": keep_hash}}]}
        try:
            self.chunks.delete(where=where)
        except Exception as exc:
            raise _write_error(exc) from exc

    def get_chunks(
        self, where: Where | None = None, ids: Sequence[str] | None = None
    ) -> list[Document]:
        """Chunks matching a filter or ids, paged so that huge collections stay bounded."""
        return list(self.iter_chunks(where=where, ids=ids))

    def iter_chunks(
        self, where: Where | None = None, ids: Sequence[str] | None = None
    ) -> Iterator[Document]:
        """Iterate over chunks page by page (text and metadata, no vectors)."""
        offset = 0
        while True:
            page = self._guard(partial(self._get_page, where, ids, offset))
            for chunk_id, text, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                yield Document(id=chunk_id, page_content=text or "", metadata=dict(meta or {}))
            if len(page["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

    def _get_page(self, where: Where | None, ids: Sequence[str] | None, offset: int) -> Any:
        return self.chunks.get(
            where=where,
            ids=list(ids) if ids is not None else None,
            include=["documents", "metadatas"],
            limit=_READ_PAGE,
            offset=offset,
        )

    def count_chunks(self) -> int:
        """Number of stored chunks (including orphans awaiting clean-up)."""
        return int(self._guard(lambda: self.chunks.count()))

    def similarity_search(
        self, query: str, k: int, where: Where | None = None
    ) -> list[tuple[Document, float]]:
        """Dense search through langchain-chroma; scores are cosine similarities."""
        vector = self.vectorstore.embeddings.embed_query(query)
        search = self.vectorstore.similarity_search_by_vector_with_relevance_scores
        try:
            results = self._guard(lambda: search(vector, k=k, filter=where))
        except StoreUnavailableError as exc:
            if where is None or not _is_missing_vector(exc.__cause__):
                raise
            # Chroma bug (chroma-core/chroma#7032): after a crash its HNSW index can lack ids
            # that its metadata has, and filtered queries fail. Search unfiltered and apply the
            # same filter here until the next ingest repairs the index.
            log.warning("vector index incomplete; filtering dense results locally until repaired")
            results = [
                (doc, distance)
                for doc, distance in self._guard(lambda: search(vector, k=k * 10 + 50))
                if matches(doc.metadata, where)
            ][:k]
        # langchain-chroma returns cosine *distance* for a cosine space.
        return [(doc, 1.0 - float(distance)) for doc, distance in results]

    def chunk_ids(self) -> list[str]:
        """Ids of all stored chunks."""
        ids: list[str] = []
        while True:
            page = self._guard(
                lambda: self.chunks.get(include=[], limit=_READ_PAGE, offset=len(ids))
            )
            ids.extend(page["ids"])
            if len(page["ids"]) < _READ_PAGE:
                return ids

    def unreadable_vectors(self, ids: Sequence[str]) -> list[str]:
        """Chunk ids whose vectors Chroma lost (see ``similarity_search``); bisects failures."""
        broken: list[str] = []
        pending = [list(ids[i : i + 500]) for i in range(0, len(ids), 500)]
        while pending:
            batch = pending.pop()
            try:
                self.chunks.get(ids=batch, include=["embeddings"])
            except Exception as exc:
                if not _is_missing_vector(exc):
                    raise StoreUnavailableError(f"Chroma is unavailable: {exc}") from exc
                if len(batch) == 1:
                    broken.extend(batch)
                else:
                    pending.extend([batch[: len(batch) // 2], batch[len(batch) // 2 :]])
        return broken

    def delete_chunk_ids(self, ids: Sequence[str]) -> None:
        """Delete chunks by id."""
        for start in range(0, len(ids), 500):
            try:
                self.chunks.delete(ids=list(ids[start : start + 500]))
            except Exception as exc:
                raise _write_error(exc) from exc

    # --- registry ---------------------------------------------------------------------
    def documents(self) -> dict[str, DocumentRecord]:
        """All registry records by document id."""
        records: dict[str, DocumentRecord] = {}
        offset = 0
        while True:
            page = self._guard(
                partial(self.registry.get, include=["documents"], limit=_READ_PAGE, offset=offset)
            )
            for record_id, body in zip(page["ids"], page["documents"], strict=True):
                if not record_id.startswith("__"):
                    records[record_id] = _record_from_json(body)
            if len(page["ids"]) < _READ_PAGE:
                return records
            offset += _READ_PAGE

    def get_document(self, document_id: str) -> DocumentRecord | None:
        """One registry record, or None."""
        page = self._guard(lambda: self.registry.get(ids=[document_id], include=["documents"]))
        return _record_from_json(page["documents"][0]) if page["ids"] else None

    def commit_document(self, record: DocumentRecord) -> None:
        """Make a document version visible (one atomic record write)."""
        record.modified = time.time()
        meta = record.metadata
        try:
            self.registry.upsert(
                ids=[meta.document_id],
                documents=[json.dumps(_record_to_json(record), ensure_ascii=False)],
                metadatas=[{"content_hash": meta.content_hash, "dirty": record.dirty}],
                embeddings=[_DUMMY_VECTOR],
            )
        except Exception as exc:
            raise _write_error(exc) from exc

    def remove_document(self, document_id: str) -> None:
        """Remove a document from the registry first (invisible at once), then its chunks."""
        try:
            self.registry.delete(ids=[document_id])
        except Exception as exc:
            raise _write_error(exc) from exc
        self.delete_chunks(document_id)

    def generation(self) -> int:
        """The index generation: increases whenever documents are committed or removed."""
        page = self._guard(lambda: self.registry.get(ids=[_GENERATION_ID], include=["metadatas"]))
        return int(page["metadatas"][0]["generation"]) if page["ids"] else 0

    def bump_generation(self) -> int:
        """Advance the generation so that other processes refresh their lexical index."""
        generation = self.generation() + 1
        try:
            self.registry.upsert(
                ids=[_GENERATION_ID],
                documents=[""],
                metadatas=[{"generation": generation, "at": time.time()}],
                embeddings=[_DUMMY_VECTOR],
            )
        except Exception as exc:
            raise _write_error(exc) from exc
        return generation

    @contextmanager
    def ingest_run(self, owner: str, *, exclusive_locally: bool) -> Iterator[bool]:
        """Mark an ingest run in the registry; yields True when the previous run never finished.

        The marker doubles as a lease so that two ingest processes against one Chroma server do
        not interleave. ``exclusive_locally``: the caller holds a file lock, so any marker left
        behind belongs to a crashed run.
        """
        from chatbot.errors import IngestLockedError

        page = self._guard(lambda: self.registry.get(ids=[_LOCK_ID], include=["metadatas"]))
        unclean = bool(page["ids"])
        if unclean and not exclusive_locally:
            held = page["metadatas"][0]
            if time.time() - float(held["heartbeat"]) < _LEASE_SECONDS:
                raise IngestLockedError(f"another ingest ({held['owner']}) is running")
        self.renew_ingest_run(owner)
        try:
            yield unclean
        except BaseException:
            # The run failed (disk full, store error, Ctrl-C): keep the marker so that the next
            # run repairs, but release the lease so that it need not wait for it to expire.
            self._release_ingest_run(owner)
            raise
        self._guard(lambda: self.registry.delete(ids=[_LOCK_ID]))

    def renew_ingest_run(self, owner: str) -> None:
        """Refresh the run marker's heartbeat (a run silent for too long counts as crashed)."""
        try:
            self.registry.upsert(
                ids=[_LOCK_ID],
                documents=[""],
                metadatas=[{"owner": owner, "heartbeat": time.time()}],
                embeddings=[_DUMMY_VECTOR],
            )
        except Exception as exc:
            raise _write_error(exc) from exc

    def _release_ingest_run(self, owner: str) -> None:
        """Mark a failed run's lease as expired (best effort: the store may be what failed)."""
        try:
            self.registry.upsert(
                ids=[_LOCK_ID],
                documents=[""],
                metadatas=[{"owner": owner, "heartbeat": 0.0}],
                embeddings=[_DUMMY_VECTOR],
            )
        except Exception as exc:
            log.warning("could not release the ingest lease: %s", exc.__class__.__name__)


def _is_missing_vector(exc: BaseException | None) -> bool:
    return exc is not None and "Error finding id" in str(exc)


def _record_to_json(record: DocumentRecord) -> dict[str, Any]:
    return {
        "metadata": record.metadata.to_json(),
        "chunks": record.chunks,
        "source_root": record.source_root,
        "dirty": record.dirty,
        "modified": record.modified,
    }


def _record_from_json(body: str) -> DocumentRecord:
    data = json.loads(body)
    return DocumentRecord(
        metadata=DocumentMetadata.from_json(data["metadata"]),
        chunks=int(data["chunks"]),
        source_root=data.get("source_root", ""),
        dirty=bool(data.get("dirty", False)),
        modified=float(data.get("modified", 0.0)),
    )


def _is_client_error(exc: Exception) -> bool:
    """Errors caused by the request itself (bad filter), not by the store being down."""
    from chromadb.errors import InvalidArgumentError

    return isinstance(exc, InvalidArgumentError | TypeError)


def _write_error(exc: Exception) -> IngestWriteError:
    if isinstance(exc, OSError) or "No space" in str(exc) or "disk" in str(exc).lower():
        return IngestWriteError(f"writing the index failed: {exc}")
    return IngestWriteError(f"writing to Chroma failed: {exc.__class__.__name__}: {exc}")
