"""A German BM25 index over the chunks, kept in step with the Chroma collection.

The index is derived state: it follows the store's document registry (document id → active
content hash). ``sync`` compares the two and loads only what changed, so the same mechanism
builds it from nothing, applies an ingest, and keeps several API workers consistent with a
shared Chroma server (each checks the store's generation counter). Filters are evaluated on the
chunk metadata *before* scoring, with the same ``where`` dialect as Chroma.
"""

from __future__ import annotations

import logging
import math
import pickle
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chatbot.analysis import base_terms, compound_parts, unique
from chatbot.store import ChunkStore, Where
from chatbot.wherefilter import matches

log = logging.getLogger(__name__)

K1 = 1.2
B = 0.75
_FORMAT = 2


@dataclass
class _Doc:
    content_hash: str
    slots: list[int] = field(default_factory=list)


class LexicalIndex:
    """BM25 with German stemming and vocabulary-driven decompounding."""

    def __init__(self) -> None:
        self.chunk_ids: list[str | None] = []
        self.texts: list[str] = []
        self.metadatas: list[dict[str, Any]] = []
        self.lengths: list[int] = []
        self.parts: list[tuple[str, ...]] = []
        self.postings: dict[str, dict[int, int]] = {}
        self.docs: dict[str, _Doc] = {}
        self.vocabulary: set[str] = set()
        self.generation = -1
        self._free: list[int] = []
        self._live = 0
        self._total_length = 0
        self._lock = threading.RLock()
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # --- maintenance ------------------------------------------------------------------
    def active_hashes(self) -> dict[str, str]:
        """Document id → content hash of the version this index holds."""
        return {doc_id: doc.content_hash for doc_id, doc in self.docs.items()}

    def add_document(self, document_id: str, content_hash: str, chunks: list[Any]) -> None:
        """Index one document version's chunks (LangChain Documents), replacing older ones."""
        with self._lock:
            self.remove_document(document_id)
            doc = _Doc(content_hash)
            for chunk in sorted(chunks, key=lambda c: c.metadata.get("chunk_index", 0)):
                doc.slots.append(self._add_chunk(chunk))
            self.docs[document_id] = doc

    def remove_document(self, document_id: str) -> None:
        """Drop a document's chunks from the index."""
        with self._lock:
            doc = self.docs.pop(document_id, None)
            if not doc:
                return
            for slot in doc.slots:
                self._remove_chunk(slot)

    def _add_chunk(self, chunk: Any) -> int:
        base = base_terms(_indexed_text(chunk.page_content, chunk.metadata))
        # Compound parts depend on the vocabulary at this moment: kept for exact removal.
        parts = tuple(compound_parts(base, self.vocabulary))
        self.vocabulary.update(t for t in base if "/" not in t)
        terms = base + list(parts)
        slot = self._free.pop() if self._free else len(self.chunk_ids)
        if slot == len(self.chunk_ids):
            self.chunk_ids.append(None)
            self.texts.append("")
            self.metadatas.append({})
            self.lengths.append(0)
            self.parts.append(())
        self.chunk_ids[slot] = chunk.id
        self.texts[slot] = chunk.page_content
        self.metadatas[slot] = dict(chunk.metadata)
        self.lengths[slot] = len(terms)
        self.parts[slot] = parts
        for term, tf in Counter(terms).items():
            self.postings.setdefault(term, {})[slot] = tf
            self._arrays.pop(term, None)
        self._live += 1
        self._total_length += len(terms)
        return slot

    def _remove_chunk(self, slot: int) -> None:
        terms = base_terms(_indexed_text(self.texts[slot], self.metadatas[slot]))
        for term in set(terms) | set(self.parts[slot]):
            posting = self.postings.get(term)
            if posting is not None:
                posting.pop(slot, None)
                self._arrays.pop(term, None)
                if not posting:
                    del self.postings[term]
        self._total_length -= self.lengths[slot]
        self._live -= 1
        self.chunk_ids[slot] = None
        self.texts[slot] = ""
        self.metadatas[slot] = {}
        self.lengths[slot] = 0
        self.parts[slot] = ()
        self._free.append(slot)

    # --- search -----------------------------------------------------------------------
    def query_terms(self, query: str) -> list[str]:
        """The analysed terms of a query (stems, compound parts, reference numbers)."""
        base = base_terms(query)
        return unique(base + compound_parts(base, self.vocabulary))

    def search(self, query: str, k: int, where: Where | None = None) -> list[tuple[int, float]]:
        """Top-k (slot, BM25 score) among chunks matching ``where``."""
        with self._lock:
            if not self._live:
                return []
            scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
            avgdl = self._total_length / self._live
            for term in self.query_terms(query):
                arrays = self._term_arrays(term, avgdl)
                if arrays is None:
                    continue
                slots, weights = arrays
                scores[slots] += weights
            candidates = np.nonzero(scores)[0]
            if where is not None:
                candidates = np.array(
                    [s for s in candidates if matches(self.metadatas[s], where)], dtype=np.int64
                )
            if not len(candidates):
                return []
            top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
            return [(int(s), float(scores[s])) for s in top]

    def _term_arrays(self, term: str, avgdl: float) -> tuple[np.ndarray, np.ndarray] | None:
        cached = self._arrays.get(term)
        if cached is not None:
            return cached
        posting = self.postings.get(term)
        if not posting:
            return None
        slots = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
        tf = np.fromiter(posting.values(), dtype=np.float32, count=len(posting))
        lengths = np.asarray([self.lengths[s] for s in slots], dtype=np.float32)
        idf = math.log(1 + (self._live - len(posting) + 0.5) / (len(posting) + 0.5))
        weights = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths / avgdl))
        self._arrays[term] = (slots, weights.astype(np.float32))
        return self._arrays[term]

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of a term (rare terms weigh more)."""
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self._live - df + 0.5) / (df + 0.5))

    def chunk(self, slot: int) -> tuple[str, str, dict[str, Any]]:
        """Id, text and metadata of the chunk in ``slot``."""
        return str(self.chunk_ids[slot]), self.texts[slot], self.metadatas[slot]

    def document_slots(self, document_id: str) -> list[int]:
        """Slots of a document's chunks in reading order."""
        doc = self.docs.get(document_id)
        return list(doc.slots) if doc else []

    def __len__(self) -> int:
        return self._live

    # --- persistence ------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the index atomically (temp file + rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with self._lock:
            state = {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_arrays")}
            with tmp.open("wb") as handle:
                pickle.dump((_FORMAT, state), handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """Read a saved index, or None when missing or of another format."""
        try:
            with path.open("rb") as handle:
                version, state = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            return None
        if version != _FORMAT:
            return None
        index = cls()
        index.__dict__.update(state)
        return index


class LexicalIndexManager:
    """Keeps one process's lexical index in step with the store, cheaply and thread-safely."""

    def __init__(self, store: ChunkStore, path: Path | None, refresh_seconds: float) -> None:
        self.store = store
        self.path = path
        self.refresh_seconds = refresh_seconds
        self._index: LexicalIndex | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def index(self) -> LexicalIndex:
        """The current index, synced with the store when its generation moved on."""
        now = time.monotonic()
        if self._index is not None and now - self._checked < self.refresh_seconds:
            return self._index
        with self._lock:
            if self._index is None and self.path is not None:
                self._index = LexicalIndex.load(self.path)
            generation = self.store.generation()
            self._checked = time.monotonic()
            if self._index is None or self._index.generation != generation:
                self._index = self.sync(self._index or LexicalIndex(), generation)
            return self._index

    def sync(self, index: LexicalIndex, generation: int) -> LexicalIndex:
        """Bring ``index`` to the registry's state: drop stale documents, load new ones."""
        started = time.perf_counter()
        registry = {
            doc_id: record.metadata.content_hash
            for doc_id, record in self.store.documents().items()
        }
        held = index.active_hashes()
        for doc_id in held.keys() - registry.keys():
            index.remove_document(doc_id)
        changed = [d for d, h in registry.items() if held.get(d) != h]
        for start in range(0, len(changed), 200):
            batch = changed[start : start + 200]
            by_doc: dict[str, list[Any]] = {d: [] for d in batch}
            for chunk in self.store.iter_chunks(where=_in("document_id", batch)):
                doc_id = chunk.metadata["document_id"]
                if chunk.metadata.get("content_hash") == registry[doc_id]:
                    by_doc[doc_id].append(chunk)
            for doc_id, chunks in by_doc.items():
                index.add_document(doc_id, registry[doc_id], chunks)
        index.generation = generation
        if changed or held.keys() - registry.keys():
            log.info(
                "lexical index synced: %d documents changed in %.2f s",
                len(changed),
                time.perf_counter() - started,
            )
            if self.path is not None:
                index.save(self.path)
        return index


def _indexed_text(text: str, metadata: dict[str, Any]) -> str:
    """A chunk is found by its reference number and document title as well as its text."""
    return f"{metadata.get('reference', '')} {metadata.get('title', '')}\n{text}"


def _in(key: str, values: list[str]) -> Where:
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}
