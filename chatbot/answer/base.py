"""The answer backend interface: numbered passages in, answer text with [n] citations out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from langchain_core.documents import Document

from chatbot.domain import Audience


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str = ""


@dataclass
class Passage:
    """A retrieved chunk numbered for citation as [n]."""

    n: int
    chunk: Document
    score: float

    @property
    def text(self) -> str:
        """The chunk text."""
        return self.chunk.page_content


@dataclass
class AnswerRequest:
    """Everything a backend needs to answer one (standalone) question."""

    question: str
    passages: list[Passage]
    audience: Audience = "public"
    language: str = "de"
    history: Sequence[Turn] = field(default_factory=tuple)
    term_weights: dict[str, float] = field(default_factory=dict)
    """Inverse document frequency of the question's terms in the whole index, when known."""


class AnswerBackend(ABC):
    """Turns passages into an answer that cites them as [n]; one abstract method."""

    name: ClassVar[str]
    generative: ClassVar[bool] = True
    model_name: str = ""

    @abstractmethod
    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer text piece by piece, citing passages with [n] markers."""

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up into a standalone question; rule-based unless overridden."""
        from chatbot.condense import condense_rule_based

        return condense_rule_based(question, history)

    def check_ready(self) -> None:  # noqa: B027 - optional hook, nothing to check by default
        """Raise BackendUnavailableError when the backend cannot answer (model missing)."""
