"""Abuse limits: question length, body size, per-client rate limit, concurrent answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from chatbot.api.app import create_app
from chatbot.api.limits import ClientIdentifier, RateLimiter
from chatbot.container import Container
from tests.api.conftest import (
    ClientFactory,
    SlowBackend,
    SwappedBackendContainer,
    api_settings,
    staff,
)


def test_too_long_question_is_422_with_a_german_message(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Hallenbad " * 101})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "question_too_long"
    assert error["message"] == "Die Frage ist zu lang. Erlaubt sind höchstens 1000 Zeichen."


def test_too_long_history_entry_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Und dann?", "history": ["x" * 1001]})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "question_too_long"


def test_blank_question_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "   "})
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "Bitte geben Sie eine Frage ein."


def test_body_larger_than_the_limit_is_413_by_content_length(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ask",
        content=b'{"question": "' + b"a" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("Die Anfrage ist zu groß")


def test_body_larger_than_the_limit_is_413_while_reading(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(40):
            yield b"a" * 1024
        yield b'"}'

    response = client.post(
        "/api/v1/ask", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_rate_limit_answers_429_with_retry_after(make_client: ClientFactory) -> None:
    client = make_client(rate_limit_per_minute=2, rate_limit_burst=2)
    assert client.get("/api/v1/documents?limit=1").status_code == 200
    assert client.get("/api/v1/documents?limit=1").status_code == 200
    limited = client.get("/api/v1/documents?limit=1")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["message"].startswith("Zu viele Anfragen")
    assert "schaengel_rate_limited_total 1.0" in client.get("/metrics").text
    # Staff are authenticated and not limited per address; health checks never are.
    assert client.get("/api/v1/documents?limit=1", headers=staff()).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    sample_container: Container, tmp_path: Path
) -> None:
    settings = api_settings(
        tmp_path, rate_limit_per_minute=1, rate_limit_burst=1, trusted_proxies=["10.0.0.0/8"]
    )
    behind_proxy = TestClient(create_app(settings, sample_container), client=("10.1.2.3", 4000))
    url = "/api/v1/documents?limit=1"
    assert behind_proxy.get(url, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 200
    # Same /24 network → same bucket; another network → its own bucket.
    assert behind_proxy.get(url, headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429
    assert behind_proxy.get(url, headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
    direct = TestClient(create_app(settings, sample_container), client=("192.0.2.10", 4000))
    assert direct.get(url, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    # Not a trusted proxy: a forged header does not buy a fresh bucket.
    assert direct.get(url, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 429


def test_client_keys_are_salted_hashes_of_truncated_networks() -> None:
    clients = ClientIdentifier([], salt=b"fixed-salt")
    key = clients.key("198.51.100.7")
    assert key == clients.key("198.51.100.200")
    assert key != clients.key("198.51.101.7")
    assert "198" not in key and len(key) == 32
    assert clients.key("2001:db8:1:1::1") == clients.key("2001:db8:1:ffff::2")
    assert clients.key("2001:db8:1::1") != clients.key("2001:db8:2::1")
    assert ClientIdentifier([], salt=b"other").key("198.51.100.7") != key
    proxied = ClientIdentifier(["10.0.0.0/8"], salt=b"fixed-salt")
    assert proxied.key("10.0.0.1", "198.51.100.7, 10.0.0.9") == key


def test_token_bucket_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=30, burst=2, clock=lambda: now[0])
    assert limiter.acquire("k") == 0
    assert limiter.acquire("k") == 0
    assert limiter.acquire("k") == 2  # one token every two seconds
    now[0] = 2.0
    assert limiter.acquire("k") == 0
    assert RateLimiter(per_minute=0, burst=1).acquire("k") == 0


def test_too_many_concurrent_answers_are_refused_with_503(
    make_client: ClientFactory, sample_container: Container
) -> None:
    backend = SlowBackend(tokens=200, delay=0.02)
    client = make_client(
        SwappedBackendContainer(sample_container, backend),
        max_concurrent_answers=1,
        answer_queue_seconds=0.2,
    )
    question = {"question": "Was kostet das neue Hallenbad?", "stream": True}
    with client.stream("POST", "/api/v1/ask", json=question) as first:
        assert first.status_code == 200
        assert backend.started.wait(timeout=10)
        second = client.post("/api/v1/ask", json={"question": "Was kostet das Hallenbad?"})
        assert second.status_code == 503
        assert second.headers["retry-after"]
        assert "ausgelastet" in second.json()["error"]["message"]
    assert backend.closed.wait(timeout=10)
    # Closing the first stream gave its slot back.
    assert client.app.state.schaengel.answers.slots.in_use == 0  # type: ignore[attr-defined]
    assert "schaengel_answers_in_progress 0.0" in client.get("/metrics").text
