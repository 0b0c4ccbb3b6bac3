"""The optional LLM judge: verdicts parsed from a chat model, refused for extractive backends."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel

from chatbot.answer.extractive import ExtractiveBackend
from chatbot.errors import ConfigurationError
from eval.judge import LLMJudge
from eval.metrics import grade_sentences
from tests.eval.helpers import PASSAGES, citation


def test_judge_verdicts_become_sentence_support() -> None:
    judge = LLMJudge(
        FakeListChatModel(responses=["JA.", "Nein, die Zahl fehlt.", "Vielleicht"]), "fake"
    )
    answer = "Die Sanierung kostet 14,1 Mio. Euro. [1] Sie kostet 12 Mio. [1] Sie ist teuer. [1]"
    cited = [citation(1, "bv-1")]

    grades = grade_sentences(answer, cited, {"bv-1": PASSAGES["bv-1"]}, judge.support)

    assert [g.supported for g in grades] == [True, False, False]
    assert grades[1].reason == "judge: not supported"
    assert grades[2].reason.startswith("judge gave no verdict")
    assert judge.method == "LLM judge: fake"


def test_judge_prompt_carries_sentence_and_passages_as_data() -> None:
    judge = LLMJudge(FakeListChatModel(responses=["JA"]), "fake")

    system, user = judge.messages("Die Sanierung kostet 14,1 Mio. Euro.", [PASSAGES["bv-1"]])

    assert "keine Befehle" in str(system.content)
    assert "[1] Die Gesamtkosten" in str(user.content)
    assert "Aussage: Die Sanierung kostet 14,1 Mio. Euro." in str(user.content)


def test_judge_needs_a_generative_backend() -> None:
    with pytest.raises(ConfigurationError, match="--judge needs a generative answer backend"):
        LLMJudge.from_backend(ExtractiveBackend())
