"""Health, readiness, metrics, request ids, logs, security headers, CORS and error shapes."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatbot.answer.base import AnswerBackend, AnswerRequest
from chatbot.container import Container
from tests.api.conftest import ClientFactory, StoreDownContainer, SwappedBackendContainer


class BrokenBackend(AnswerBackend):
    """Fails with an error nobody anticipated."""

    name = "broken-test"

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        raise RuntimeError("secret internal detail /srv/schaengel/model.gguf")
        yield ""  # pragma: no cover


def test_healthz_answers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_check(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"store": "ok", "embeddings": "ok", "backend": "ok"},
    }


def test_store_down_gives_503_on_readyz_ask_and_documents(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client(StoreDownContainer.build(tmp_path))
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] == "unavailable"
    assert "Dokumentensuche" in ready.json()["reason"]
    for response in (
        client.post("/api/v1/ask", json={"question": "Was kostet das Hallenbad?"}),
        client.post("/api/v1/ask", json={"question": "Was kostet das Hallenbad?", "stream": True}),
        client.get("/api/v1/documents"),
    ):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        assert "nicht erreichbar" in response.json()["error"]["message"]
        assert "Traceback" not in response.text


def test_unexpected_errors_are_a_generic_500_without_details(
    make_client: ClientFactory, sample_container: Container
) -> None:
    client = make_client(SwappedBackendContainer(sample_container, BrokenBackend()))
    response = client.post("/api/v1/ask", json={"question": "Was kostet das Hallenbad?"})
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "internal_error"
    assert body["error"]["message"].startswith("Es ist ein interner Fehler aufgetreten")
    assert "Traceback" not in response.text and "/srv/" not in response.text
    assert response.headers["x-request-id"] == body["request_id"]
    streamed = client.post(
        "/api/v1/ask", json={"question": "Was kostet das Hallenbad?", "stream": True}
    )
    assert "Traceback" not in streamed.text and "/srv/" not in streamed.text


def test_unknown_routes_and_methods_answer_in_json_and_german(client: TestClient) -> None:
    missing = client.get("/api/v1/nichts")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"].startswith("Die Seite oder das Dokument")
    wrong_method = client.get("/api/v1/ask")
    assert wrong_method.status_code == 405
    assert "nicht erlaubt" in wrong_method.json()["error"]["message"]


def test_metrics_count_requests_answers_and_refusals(client: TestClient) -> None:
    client.post("/api/v1/ask", json={"question": "Was kostet das neue Hallenbad?"})
    client.post("/api/v1/ask", json={"question": "Wie hoch ist der Eiffelturm in Paris?"})
    text = client.get("/metrics").text
    assert (
        'schaengel_http_requests_total{method="POST",route="/api/v1/ask",status="200"} 2.0' in text
    )
    assert 'schaengel_answers_total{audience="public"} 2.0' in text
    assert 'schaengel_refusals_total{audience="public"} 1.0' in text
    assert "schaengel_http_request_duration_seconds_bucket" in text
    assert "schaengel_rate_limited_total 0.0" in text


def test_each_app_has_its_own_metrics_registry(make_client: ClientFactory) -> None:
    first, second = make_client(), make_client()
    first.get("/healthz")
    assert 'route="/healthz"' in first.get("/metrics").text
    assert 'route="/healthz"' not in second.get("/metrics").text


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])


def test_logs_are_structured_and_omit_questions_and_addresses(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    question = "Welche Maßnahmen enthält das Radverkehrskonzept 2020?"
    with caplog.at_level(logging.INFO):
        client.post("/api/v1/ask", json={"question": question}, headers={"X-Request-ID": "r-1"})
    requests = [r for r in caplog.records if getattr(r, "event", "") == "request"]
    answers = [r for r in caplog.records if getattr(r, "event", "") == "answer"]
    assert requests and answers
    assert requests[-1].route == "/api/v1/ask" and requests[-1].status == 200  # type: ignore[attr-defined]
    from chatbot.api.logs import JsonFormatter

    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert not any(question in line for line in lines)
    assert not any("testclient" in line for line in lines)


def test_questions_are_logged_only_when_enabled(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(log_questions=True)
    with caplog.at_level(logging.INFO):
        client.post("/api/v1/ask", json={"question": "Was kostet das neue Hallenbad?"})
    answers = [r for r in caplog.records if getattr(r, "event", "") == "answer"]
    assert answers[-1].question == "Was kostet das neue Hallenbad?"  # type: ignore[attr-defined]


def test_html_pages_carry_security_headers_without_third_party_origins(
    client: TestClient,
) -> None:
    for path in ("/", "/staff"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        assert "http" not in csp and "*" not in csp
        assert "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    api = client.get("/api/v1/info")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["cache-control"] == "no-store"


def test_demo_page_embeds_the_widget_with_one_tag(client: TestClient) -> None:
    page = client.get("/").text
    assert page.count("<script") == 1
    assert '<script src="/widget.js"' in page
    widget = client.get("/widget.js")
    assert widget.headers["content-type"].startswith("text/javascript")
    assert widget.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "innerHTML" not in widget.text, "model output is rendered with textContent only"
    assert client.get("/widget.css").status_code == 200


def test_info_tells_the_widget_about_the_ai_notice_and_privacy(client: TestClient) -> None:
    info = client.get("/api/v1/info").json()
    assert info["ai_notice"]["de"] == "Sie chatten mit einem KI-Assistenten."
    assert info["ai_notice"]["en"] == "You are chatting with an AI assistant."
    assert info["questions_logged"] is False
    assert info["audience"] == "public"


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/ask", "/v1/chat/completions", "/api/v1/documents/{document_id}"} <= set(paths)
    assert "audience" not in str(paths["/api/v1/ask"]).lower().replace("audience from", "")


def test_cors_is_same_origin_only_unless_configured(make_client: ClientFactory) -> None:
    preflight = {
        "Origin": "https://www.lahnfeld.de",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    default = make_client()
    assert (
        "access-control-allow-origin"
        not in default.options("/api/v1/ask", headers=preflight).headers
    )
    allowed = make_client(cors_origins=["https://www.lahnfeld.de"])
    response = allowed.options("/api/v1/ask", headers=preflight)
    assert response.headers["access-control-allow-origin"] == "https://www.lahnfeld.de"
    other = allowed.options("/api/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
