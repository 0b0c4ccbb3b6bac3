"""The local llama.cpp backend: configuration checks, and the real packaged GGUF (slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chatbot.answer.base import AnswerRequest
from chatbot.answer.local import LocalBackend, load_model
from chatbot.answer.registry import create_backend
from chatbot.container import Container
from chatbot.errors import BackendUnavailableError, MissingDependencyError
from chatbot.service import AskService
from chatbot.settings import Settings
from tests.chatbot.answer.conftest import make_passage


def test_registry_builds_the_local_backend_with_the_packaged_model_by_default() -> None:
    backend = create_backend(Settings(answer_backend="local"))

    assert isinstance(backend, LocalBackend)
    assert backend.model_name == "gemma-3-270m-q4_k_m"


def test_missing_llama_cpp_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import now fails as if not installed

    with pytest.raises(MissingDependencyError, match=r"pip install 'schaengel\[local\]'"):
        load_model(tmp_path / "model.gguf", 512)


def test_missing_model_file_is_reported_with_its_path(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    missing = tmp_path / "nowhere.gguf"
    backend = LocalBackend(Settings(answer_backend="local", local_model_path=missing))

    with pytest.raises(BackendUnavailableError, match=r"nowhere\.gguf"):
        backend.check_ready()


def test_passage_budget_leaves_room_for_the_answer_in_the_context_window() -> None:
    backend = LocalBackend(
        Settings(local_context_tokens=2048, max_answer_tokens=400, context_tokens=3000)
    )

    assert backend.passage_budget() == 2048 - 400 - 700
    roomy = LocalBackend(Settings(local_context_tokens=8192, context_tokens=3000))
    assert roomy.passage_budget() == 3000


@pytest.mark.slow
def test_real_gguf_answers_a_short_german_rag_question(local_backend: LocalBackend) -> None:
    request = AnswerRequest(
        question="Wie hoch sind die Kosten der Generalsanierung?",
        passages=[
            make_passage(
                1,
                "Der Stadtrat beschließt die Generalsanierung der Grundschule am Mühlbach. "
                "Die Kosten betragen 4,2 Mio. Euro.",
                reference="BV/0123/2024",
            )
        ],
    )

    pieces = list(local_backend.stream(request))

    assert len(pieces) > 1
    assert "".join(pieces).strip()


@pytest.mark.slow
def test_real_gguf_is_loaded_once_per_process(
    local_backend: LocalBackend, local_settings: Settings
) -> None:
    first = load_model(
        local_backend.model_path(),
        local_settings.local_context_tokens,
        local_settings.local_threads,
    )
    again = LocalBackend(local_settings)
    again.check_ready()

    assert load_model(again.model_path(), 2048, local_settings.local_threads) is first
    assert not first.has_chat_template  # Gemma 3 270M is a base model: plain-text prompt


@pytest.mark.slow
def test_real_gguf_through_the_service_streams_and_cites_or_refuses(
    local_backend: LocalBackend, sample_container: Container
) -> None:
    service = AskService(sample_container, backend=local_backend)
    events = list(service.stream("Wie teuer wird die Sanierung der Grundschule Am Mühlbach?"))
    tokens = [e.text for e in events if e.kind == "token"]
    final = events[-1].answer
    assert tokens and "".join(tokens).strip(), "the model generated nothing"
    assert final is not None and final.timings_ms["generate"] > 0
    # A 270M base model proves the path, not answer quality: whatever it wrote was parsed
    # into cited sentences that its passages support, or the answer is a refusal.
    if final.refused:
        assert not final.citations
    else:
        assert final.citations
        for citation in final.citations:
            assert f"[{citation.n}]" in final.text and citation.reference
