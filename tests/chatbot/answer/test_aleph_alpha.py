"""The Aleph Alpha backend (official client) against a fake API under /v1."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Generator
from typing import cast

import pytest
from aleph_alpha_client import Client, Prompt, TokenizationRequest
from pydantic import SecretStr

from chatbot.answer.aleph_alpha import AlephAlphaBackend, ChatAlephAlpha
from chatbot.answer.base import AnswerRequest
from chatbot.answer.registry import create_backend
from chatbot.errors import BackendTimeoutError, BackendUnavailableError
from chatbot.settings import Settings
from tests.chatbot.answer.conftest import ALEPH_TOKEN, EXPECTED_ANSWER
from tests.fakes import RunningServer

ENDPOINTS = ["chat", "complete"]
PATHS = {"chat": "/v1/chat/completions", "complete": "/v1/complete"}


def backend_for(
    server: RunningServer, endpoint: str = "chat", **overrides: object
) -> AlephAlphaBackend:
    """An Aleph Alpha backend pointed at the fake API."""
    values: dict[str, object] = {
        "answer_backend": "aleph-alpha",
        "aleph_alpha_host": f"{server.url}/v1",
        "aleph_alpha_token": ALEPH_TOKEN,
        "aleph_alpha_model": "fake-model",
        "aleph_alpha_endpoint": endpoint,
        "max_answer_tokens": 77,
        "max_retries": 2,
        **overrides,
    }
    backend = create_backend(Settings(**values))  # type: ignore[arg-type]
    assert isinstance(backend, AlephAlphaBackend)
    return backend


def test_registry_builds_the_aleph_alpha_backend(aleph_fake: RunningServer) -> None:
    backend = backend_for(aleph_fake)
    assert backend.name == "aleph-alpha"
    assert backend.model_name == "fake-model"


def test_chat_request_follows_the_wire_format(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    "".join(backend_for(aleph_fake, "chat").stream(answer_request))

    (sent,) = aleph_fake.state.requests
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.authorization == f"Bearer {ALEPH_TOKEN}"
    body = sent.body
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["maximum_tokens"] == 77
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert '<passage nr="1">' in body["messages"][1]["content"]


def test_complete_request_sends_a_rendered_text_prompt(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    "".join(backend_for(aleph_fake, "complete").stream(answer_request))

    (sent,) = aleph_fake.state.requests
    assert (sent.method, sent.path) == ("POST", "/v1/complete")
    assert sent.authorization == f"Bearer {ALEPH_TOKEN}"
    body = sent.body
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["maximum_tokens"] == 77
    assert "\nFrage:" in body["stop_sequences"]
    (item,) = body["prompt"]
    assert item["type"] == "text"
    assert item["data"].startswith("Du bist Schängel")
    assert '<passage nr="2">' in item["data"]
    assert item["data"].endswith("Antwort:")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_streaming_yields_the_answer_in_several_pieces_in_order(
    aleph_fake: RunningServer, answer_request: AnswerRequest, endpoint: str
) -> None:
    pieces = list(backend_for(aleph_fake, endpoint).stream(answer_request))

    assert len(pieces) >= 5
    assert "".join(pieces) == EXPECTED_ANSWER


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_invoke_without_streaming_returns_the_whole_answer(
    aleph_fake: RunningServer, answer_request: AnswerRequest, endpoint: str
) -> None:
    from chatbot.prompting import build_messages

    model = backend_for(aleph_fake, endpoint).chat_model
    reply = model.invoke(build_messages(answer_request, budget_tokens=1000))

    assert reply.content == EXPECTED_ANSWER
    assert "stream" not in aleph_fake.state.requests[0].body


def test_async_streaming_works_natively(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    from chatbot.prompting import build_messages

    model = backend_for(aleph_fake).chat_model
    messages = build_messages(answer_request, budget_tokens=1000)

    async def collect() -> list[str]:
        return [str(chunk.content) async for chunk in model.astream(messages)]

    assert "".join(asyncio.run(collect())) == EXPECTED_ANSWER


def test_stopping_early_closes_the_stream_and_the_backend_stays_usable(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    aleph_fake.state.control.chunk_delay = 0.05
    backend = backend_for(aleph_fake)
    stream = cast(Generator[str, None, None], backend.stream(answer_request))
    assert next(stream) == "Der "
    stream.close()
    aleph_fake.state.control.chunk_delay = 0.0

    assert "".join(backend.stream(answer_request)) == EXPECTED_ANSWER


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_wrong_token_is_reported_as_authentication_failure_without_the_token(
    aleph_fake: RunningServer,
    answer_request: AnswerRequest,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
) -> None:
    wrong_token = "aa-wrong-5c3e8b1f9d2a7046"
    caplog.set_level(logging.DEBUG)

    with pytest.raises(BackendUnavailableError) as info:
        list(
            backend_for(aleph_fake, endpoint, aleph_alpha_token=wrong_token).stream(answer_request)
        )

    message = str(info.value)
    assert "authentication" in message and "401" in message
    assert wrong_token not in message
    assert wrong_token not in "".join(traceback.format_exception(info.value))
    assert wrong_token not in caplog.text
    assert len(aleph_fake.state.requests) == 1  # a 401 is not retried


def test_rate_limit_is_retried_and_then_succeeds(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    aleph_fake.state.control.fail_next, aleph_fake.state.control.fail_status = 1, 429

    answer = "".join(backend_for(aleph_fake, "complete").stream(answer_request))

    assert answer == EXPECTED_ANSWER
    assert len(aleph_fake.state.requests_to("/complete")) == 2


def test_persistent_server_error_fails_after_bounded_retries(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    aleph_fake.state.control.fail_next, aleph_fake.state.control.fail_status = 100, 500

    with pytest.raises(BackendUnavailableError) as info:
        list(backend_for(aleph_fake, max_retries=2).stream(answer_request))

    assert not isinstance(info.value, BackendTimeoutError)
    assert "HTTP 500 after 2 retries" in str(info.value)
    assert len(aleph_fake.state.requests) == 3  # one attempt and two retries


def test_slow_server_beyond_the_timeout_raises_timeout_error(
    aleph_fake: RunningServer, answer_request: AnswerRequest
) -> None:
    control = aleph_fake.state.control
    control.delay_next, control.delay_seconds = 10, 3.0
    backend = backend_for(aleph_fake, request_timeout_seconds=0.3, max_retries=0)

    started = time.monotonic()
    with pytest.raises(BackendTimeoutError) as info:
        list(backend.stream(answer_request))

    assert time.monotonic() - started < 2.0
    assert "did not answer within 0.3 s" in str(info.value)


def test_unreachable_host_is_reported_as_unavailable(answer_request: AnswerRequest) -> None:
    model = ChatAlephAlpha(
        host="http://127.0.0.1:9/v1", token=SecretStr(ALEPH_TOKEN), model="m", total_retries=0
    )

    with pytest.raises(BackendUnavailableError) as info:
        model.invoke("Hallo")

    assert "cannot reach Aleph Alpha API http://127.0.0.1:9/v1" in str(info.value)
    assert ALEPH_TOKEN not in str(info.value)


def test_fake_tokenize_speaks_the_client_format(aleph_fake: RunningServer) -> None:
    client = Client(token=ALEPH_TOKEN, host=f"{aleph_fake.url}/v1", total_retries=0)

    response = client.tokenize(
        TokenizationRequest(prompt="Grundschule am Mühlbach", tokens=True, token_ids=True),
        model="fake-model",
    )

    assert response.tokens == ["Grundschule", "am", "Mühlbach"]
    assert response.token_ids == [0, 1, 2]
    assert Prompt.from_text("x").to_json()[0]["type"] == "text"
