"""The OpenAI-compatible backend against a fake server speaking the real wire format."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import httpx
import pytest

from chatbot.answer.base import AnswerRequest, Turn
from chatbot.answer.openai import OpenAIBackend
from chatbot.answer.registry import create_backend
from chatbot.errors import BackendTimeoutError, BackendUnavailableError
from chatbot.settings import Settings
from tests.chatbot.answer.conftest import EXPECTED_ANSWER, OPENAI_KEY
from tests.fakes import RunningServer, free_socket

REPO = Path(__file__).resolve().parents[3]


def backend_for(server_url: str, **overrides: object) -> OpenAIBackend:
    """An OpenAI backend pointed at the fake server."""
    values: dict[str, object] = {
        "answer_backend": "openai",
        "openai_base_url": f"{server_url}/v1",
        "openai_api_key": OPENAI_KEY,
        "openai_model": "fake-model",
        "max_answer_tokens": 123,
        "max_retries": 2,
        **overrides,
    }
    backend = create_backend(Settings(**values))  # type: ignore[arg-type]
    assert isinstance(backend, OpenAIBackend)
    return backend


def test_registry_builds_the_openai_backend(openai_fake: RunningServer) -> None:
    backend = backend_for(openai_fake.url)
    assert backend.name == "openai"
    assert backend.model_name == "fake-model"


def test_request_body_follows_the_openai_wire_format(
    openai_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    "".join(backend_for(openai_fake.url).stream(answer_request))

    (sent,) = openai_fake.state.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.authorization == f"Bearer {OPENAI_KEY}"
    body = sent.body
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["max_tokens"] == 123
    assert "max_completion_tokens" not in body
    assert body["temperature"] == 0.0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "Dazu habe ich in den vorliegenden Dokumenten" in body["messages"][0]["content"]
    user = body["messages"][1]["content"]
    assert '<passage nr="1">' in user and '<passage nr="2">' in user
    assert user.rstrip().endswith("Frage: Was beschließt der Stadtrat zur Grundschule?")


def test_streaming_yields_the_answer_in_several_pieces_in_order(
    openai_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    pieces = list(backend_for(openai_fake.url).stream(answer_request))

    assert len(pieces) >= 5
    assert "".join(pieces) == EXPECTED_ANSWER


def test_wrong_api_key_is_reported_as_authentication_failure_without_the_key(
    openai_fake: RunningServer, answer_request: AnswerRequest, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_key = "sk-wrong-0b7c1d9e3f5a2468"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(BackendUnavailableError) as info:
        list(backend_for(openai_fake.url, openai_api_key=wrong_key).stream(answer_request))

    message = str(info.value)
    assert "authentication" in message and "401" in message
    assert wrong_key not in message
    assert wrong_key not in "".join(traceback.format_exception(info.value))
    assert wrong_key not in caplog.text
    assert len(openai_fake.state.requests) == 1  # a 401 is not retried


def test_rate_limit_is_retried_and_then_succeeds(
    openai_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    control = openai_fake.state.control
    control.fail_next, control.fail_status, control.retry_after = 1, 429, 0.01

    answer = "".join(backend_for(openai_fake.url).stream(answer_request))

    assert answer == EXPECTED_ANSWER
    assert len(openai_fake.state.requests_to("/chat/completions")) == 2


def test_persistent_server_error_fails_after_bounded_retries(
    openai_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    control = openai_fake.state.control
    control.fail_next, control.fail_status, control.retry_after = 100, 500, 0.01

    with pytest.raises(BackendUnavailableError) as info:
        list(backend_for(openai_fake.url, max_retries=2).stream(answer_request))

    assert not isinstance(info.value, BackendTimeoutError)
    assert "HTTP 500" in str(info.value)
    assert len(openai_fake.state.requests) == 3  # one attempt and two retries


def test_slow_server_beyond_the_timeout_raises_timeout_error(
    openai_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    control = openai_fake.state.control
    control.delay_next, control.delay_seconds = 10, 3.0
    backend = backend_for(openai_fake.url, request_timeout_seconds=0.3, max_retries=1)

    started = time.monotonic()
    with pytest.raises(BackendTimeoutError) as info:
        list(backend.stream(answer_request))

    assert time.monotonic() - started < 2.5
    assert "did not answer within 0.3 s" in str(info.value)
    assert len(openai_fake.state.requests) == 2


def test_condense_asks_the_model_and_keeps_only_the_question(
    openai_fake: RunningServer,
) -> None:
    history = [Turn("Wann wird die Grundschule saniert?", "Ab Sommer 2025 [1].")]

    standalone = backend_for(openai_fake.url).condense("Und was kostet das?", history)

    assert standalone == "Und was kostet das? (zu: Wann wird die Grundschule saniert?)"
    (sent,) = openai_fake.state.requests
    assert "Ab Sommer 2025 [1]." in sent.body["messages"][1]["content"]


def test_condense_without_history_needs_no_model_call(openai_fake: RunningServer) -> None:
    assert backend_for(openai_fake.url).condense("Was kostet die Schule?", []) == (
        "Was kostet die Schule?"
    )
    assert openai_fake.state.requests == []


def test_fake_lists_its_model(openai_fake: RunningServer) -> None:
    response = httpx.get(
        f"{openai_fake.url}/v1/models", headers={"Authorization": f"Bearer {OPENAI_KEY}"}
    )
    assert response.json()["data"][0]["id"] == "fake-model"


def test_fake_runs_as_a_subprocess_controlled_over_http(answer_request: AnswerRequest) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port)]
    command += ["--token", OPENAI_KEY]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/_reset", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        httpx.post(f"{url}/_control", json={"fail_next": 1, "fail_status": 503, "retry_after": 0})
        backend = backend_for(url)

        answer = "".join(backend.stream(answer_request))

        recorded = httpx.get(f"{url}/_requests").json()
        assert answer == EXPECTED_ANSWER
        assert [r["path"] for r in recorded] == ["/v1/chat/completions"] * 2
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_condense_falls_back_to_the_rules_when_the_model_fails(
    openai_fake: RunningServer,
) -> None:
    from chatbot.condense import condense_rule_based

    openai_fake.state.control.fail_next, openai_fake.state.control.fail_status = 10, 500
    history = [Turn("Wann wird die Grundschule saniert?", "Ab Sommer 2025 [1].")]

    standalone = backend_for(openai_fake.url, max_retries=0).condense(
        "Und was kostet das?", history
    )

    assert standalone == condense_rule_based("Und was kostet das?", history)
