"""A German BM25 index over the chunks, kept in step with the Chroma collection.

The index is derived state: it follows the store's document registry (document id → active
content hash). ``sync`` compares the two and loads only what changed, so the same mechanism
builds it from nothing, applies an ingest, and keeps several API workers consistent with a
shared Chroma server (each checks the store's generation counter). Filters are evaluated on the
chunk metadata *before* scoring, with the same ``where`` dialect as Chroma.
"""

from __future__ import annotations

import bisect
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
_FORMAT = 3
TITLE_WEIGHT = 0.5
SUFFIX_WEIGHT = 0.6
MIN_SUFFIX = 4
MAX_EXPANSIONS = 20


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
        self.titles: list[tuple[str, ...]] = []
        self.title_postings: dict[str, set[int]] = {}
        self.postings: dict[str, dict[int, int]] = {}
        self.docs: dict[str, _Doc] = {}
        self.vocabulary: set[str] = set()
        self.generation = -1
        self._free: list[int] = []
        self._live = 0
        self._total_length = 0
        self._lock = threading.RLock()
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._reversed: list[str] | None = None

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
        meta = chunk.metadata
        base = base_terms(f"{meta.get('reference', '')}\n{chunk.page_content}")
        # Compound parts depend on the vocabulary at this moment: kept for exact removal.
        parts = tuple(compound_parts(base, self.vocabulary))
        title_base = base_terms(str(meta.get("title", "")))
        title = tuple(unique(title_base + compound_parts(title_base, self.vocabulary)))
        new_words = {t for t in base + title_base if "/" not in t} - self.vocabulary
        if new_words:
            self.vocabulary.update(new_words)
            self._reversed = None
        terms = base + list(parts)
        slot = self._free.pop() if self._free else len(self.chunk_ids)
        if slot == len(self.chunk_ids):
            self.chunk_ids.append(None)
            self.texts.append("")
            self.metadatas.append({})
            self.lengths.append(0)
            self.parts.append(())
            self.titles.append(())
        self.chunk_ids[slot] = chunk.id
        self.texts[slot] = chunk.page_content
        self.metadatas[slot] = dict(meta)
        self.lengths[slot] = len(terms)
        self.parts[slot] = parts
        self.titles[slot] = title
        for term, tf in Counter(terms).items():
            self.postings.setdefault(term, {})[slot] = tf
            self._arrays.pop(term, None)
        for term in title:
            self.title_postings.setdefault(term, set()).add(slot)
        self._live += 1
        self._total_length += len(terms)
        return slot

    def _remove_chunk(self, slot: int) -> None:
        meta = self.metadatas[slot]
        terms = base_terms(f"{meta.get('reference', '')}\n{self.texts[slot]}")
        for term in set(terms) | set(self.parts[slot]):
            posting = self.postings.get(term)
            if posting is not None:
                posting.pop(slot, None)
                self._arrays.pop(term, None)
                if not posting:
                    del self.postings[term]
        for term in self.titles[slot]:
            holders = self.title_postings.get(term)
            if holders is not None:
                holders.discard(slot)
                if not holders:
                    del self.title_postings[term]
        self._total_length -= self.lengths[slot]
        self._live -= 1
        self.chunk_ids[slot] = None
        self.texts[slot] = ""
        self.metadatas[slot] = {}
        self.lengths[slot] = 0
        self.parts[slot] = ()
        self.titles[slot] = ()
        self._free.append(slot)

    # --- search -----------------------------------------------------------------------
    def query_terms(self, query: str) -> list[str]:
        """The analysed terms of a query (stems, compound parts, reference numbers)."""
        base = [self._known_form(term) for term in base_terms(query)]
        return unique(base + compound_parts(base, self.vocabulary))

    def weighted_query_terms(self, query: str) -> dict[str, float]:
        """Query terms with weights: the terms themselves, plus compounds ending in them.

        German compounds are head-final: a "Kostenschätzung" is a "Schätzung", so a question
        about a "Schätzung" also matches it (with a lower weight).
        """
        weights = dict.fromkeys(self.query_terms(query), 1.0)
        for term in list(weights):
            for compound in self._compounds_ending_in(term):
                weights.setdefault(compound, SUFFIX_WEIGHT)
        return weights

    def _compounds_ending_in(self, term: str) -> list[str]:
        if len(term) < MIN_SUFFIX or "/" in term or term.isdigit():
            return []
        if self._reversed is None:
            self._reversed = sorted(word[::-1] for word in self.vocabulary)
        key = term[::-1]
        found: list[str] = []
        start = bisect.bisect_left(self._reversed, key)
        for reversed_word in self._reversed[start : start + MAX_EXPANSIONS + 1]:
            if not reversed_word.startswith(key):
                break
            if len(reversed_word) > len(key):
                found.append(reversed_word[::-1])
        return found[:MAX_EXPANSIONS]

    def _known_form(self, term: str) -> str:
        """Map a participle the corpus never uses to its stem ("gekostet" → "kost")."""
        if term not in self.vocabulary and term.startswith("ge") and term[2:] in self.vocabulary:
            return term[2:]
        return term

    def search(self, query: str, k: int, where: Where | None = None) -> list[tuple[int, float]]:
        """Top-k (slot, BM25 score) among chunks matching ``where``."""
        with self._lock:
            if not self._live:
                return []
            scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
            avgdl = self._total_length / self._live
            for term, weight in self.weighted_query_terms(query).items():
                arrays = self._term_arrays(term, avgdl)
                if arrays is not None:
                    slots, weights = arrays
                    scores[slots] += weight * weights
                holders = self.title_postings.get(term)
                if holders:
                    # The document title is evidence for each of its chunks, without BM25's
                    # length normalisation (which would favour tiny header chunks).
                    title_slots = np.fromiter(holders, dtype=np.int64, count=len(holders))
                    scores[title_slots] += weight * TITLE_WEIGHT * self.idf(term)
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

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a term."""
        return len(self.postings.get(term, ()))

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
            transient = ("_lock", "_arrays", "_reversed")
            state = {k: v for k, v in self.__dict__.items() if k not in transient}
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
        index._reversed = None
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


def _in(key: str, values: list[str]) -> Where:
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}
