"""Builds the long-lived components from the settings, once, on first use."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chatbot.embedding import CountingEmbeddings, get_embeddings
from chatbot.settings import Settings
from chatbot.store import ChunkStore

if TYPE_CHECKING:
    from chatbot.answer.base import AnswerBackend
    from chatbot.retrieval import HybridRetriever


class Container:
    """The components of one process: embedder, store, answer backend (each built lazily)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embeddings(self) -> CountingEmbeddings:
        """The embedding model, loaded once per process."""
        return get_embeddings(self.settings.embedding_model, self.settings.embedding_batch_size)

    @cached_property
    def store(self) -> ChunkStore:
        """Chroma access (embedded or server)."""
        return ChunkStore(self.settings, lambda: self.embeddings)

    @cached_property
    def retriever(self) -> HybridRetriever:
        """Hybrid retrieval over the store, with this process's lexical index."""
        from chatbot.retrieval import HybridRetriever

        return HybridRetriever(self.settings, self.store)

    @cached_property
    def backend(self) -> AnswerBackend:
        """The configured answer backend."""
        from chatbot.answer.registry import create_backend

        return create_backend(self.settings)
