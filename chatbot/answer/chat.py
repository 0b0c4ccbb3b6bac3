"""The shared base of generative backends: a LangChain chat model behind ``AnswerBackend``.

Subclasses build the chat model; this class builds the prompt, streams the text, rewrites
follow-up questions with the model, and turns every failure into a named error whose
message never contains a secret (API key, token, credentials in a URL).
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from chatbot.answer.base import AnswerBackend, AnswerRequest, Turn
from chatbot.errors import BackendTimeoutError, BackendUnavailableError, SchaengelError
from chatbot.prompting import build_condense_messages, build_messages, message_text
from chatbot.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

logger = logging.getLogger(__name__)

REDACTED = "***"
MAX_DETAIL_CHARS = 300
MIN_SECRET_CHARS = 6


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (placeholders like "none" are kept)."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    return text


def safe_url(url: str) -> str:
    """``url`` without user info (``user:password@``), fit for messages and logs."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def clean_condensed(text: str, question: str) -> str:
    """The first line of a model's rewrite, unquoted; empty when it is no usable question."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    for prefix in ("Eigenständige Frage:", "Standalone question:", "Frage:", "Question:"):
        if line.lower().startswith(prefix.lower()):
            line = line[len(prefix) :].strip()
    line = line.strip("\"'„“”«» ")
    # A rewrite much longer than the question is an answer or a ramble, not a question.
    if len(line) > 3 * len(question) + 200:
        return ""
    return line


class ChatModelBackend(AnswerBackend):
    """A generative backend: prompt → LangChain chat model → streamed, cited answer text."""

    generative = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._chat_model: BaseChatModel | None = None
        self._build_lock = threading.Lock()

    @abstractmethod
    def build_chat_model(self) -> BaseChatModel:
        """Build the LangChain chat model from ``self.settings`` (called once, lazily)."""

    @property
    def chat_model(self) -> BaseChatModel:
        """The chat model, built on first use."""
        with self._build_lock:
            if self._chat_model is None:
                self._chat_model = self.build_chat_model()
            return self._chat_model

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in an error message or log line."""
        return ()

    def passage_budget(self) -> int:
        """Tokens available for passages in the prompt."""
        return self.settings.context_tokens

    def translate_error(self, exc: Exception) -> BackendUnavailableError:
        """The named error for a failure of the chat model (override for client exceptions)."""
        detail = self.describe(exc)
        if isinstance(exc, TimeoutError):
            return BackendTimeoutError(f"{self.name} backend timed out: {detail}")
        return BackendUnavailableError(f"{self.name} backend failed: {detail}")

    def describe(self, exc: BaseException) -> str:
        """``Type: message`` of an exception, shortened and with secrets removed."""
        text = f"{type(exc).__name__}: {exc}"[:MAX_DETAIL_CHARS]
        return redact(text, self.secrets())

    def _named_error(self, exc: Exception) -> SchaengelError:
        if isinstance(exc, SchaengelError):
            error: SchaengelError = exc
            # Adapters raise named errors already; redact once more in case a server echoed.
            error.args = tuple(redact(str(a), self.secrets()) for a in error.args)
        else:
            error = self.translate_error(exc)
        logger.warning("answer backend %s (%s) failed: %s", self.name, self.model_name, error)
        return error

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer as the model produces it."""
        messages = build_messages(request, budget_tokens=self.passage_budget())
        started = False
        try:
            for chunk in self.chat_model.stream(messages):
                text = message_text(chunk)
                if not started:  # models often open with a newline or space
                    text = text.lstrip()
                    started = bool(text)
                if text:
                    yield text
        except Exception as exc:
            # `from None`: the client's exception may carry request details (headers).
            raise self._named_error(exc) from None

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Ask the model for a standalone question; the rule-based rewrite if that fails."""
        if not history:
            return question
        try:
            reply = self.chat_model.invoke(build_condense_messages(question, history))
            standalone = clean_condensed(message_text(reply), question)
        except Exception as exc:
            logger.warning(
                "condense with %s failed, using rules: %s", self.name, self.describe(exc)
            )
            standalone = ""
        return standalone or super().condense(question, history)
