"""POST /api/v1/ask as JSON, as Server-Sent Events and as a timeline; feedback; disconnects."""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from chatbot.api.app import create_app
from chatbot.container import Container
from tests.api.conftest import (
    ClientFactory,
    SlowBackend,
    SwappedBackendContainer,
    TimeoutBackend,
    api_settings,
    parse_sse,
)
from tests.fakes import uvicorn_in_thread

HALLENBAD = "Wie viel kostet der Neubau des Hallenbads im Auenpark?"


def test_json_answer_cites_its_sources(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": HALLENBAD})
    assert response.status_code == 200
    body = response.json()
    assert not body["refused"]
    assert "Mio. Euro" in body["answer"]
    assert uuid.UUID(body["answer_id"])
    references = {s["reference"] for s in body["sources"]}
    assert references & {"BV/0098/2021", "AW/0050/2024"}
    first = body["sources"][0]
    assert first["link"].startswith("/dokumente/") or first["link"].startswith("http")
    assert "source" not in first, "server file paths are not exposed"
    assert f"[{first['n']}]" in body["answer"]


def test_stream_true_sends_tokens_then_sources_then_done(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": HALLENBAD, "stream": True})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "token"
    assert names[-2:] == ["sources", "done"]
    assert set(names[:-2]) == {"token"}
    sources = events[-2][1]
    done = events[-1][1]
    assert sources and all(s["document_id"] for s in sources)
    assert uuid.UUID(done["answer_id"])
    assert done["refused"] is False
    assert "Mio. Euro" in done["answer"]
    assert set(done["timings_ms"]) >= {"retrieve", "generate", "total"}


def test_accept_event_stream_header_selects_sse(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ask", json={"question": HALLENBAD}, headers={"Accept": "text/event-stream"}
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert parse_sse(response.text)[-1][0] == "done"


def test_stream_and_json_give_the_same_checked_answer(client: TestClient) -> None:
    plain = client.post("/api/v1/ask", json={"question": HALLENBAD}).json()
    streamed = parse_sse(
        client.post("/api/v1/ask", json={"question": HALLENBAD, "stream": True}).text
    )
    assert streamed[-1][1]["answer"] == plain["answer"]


def test_unrelated_question_is_refused_without_sources(client: TestClient) -> None:
    body = client.post(
        "/api/v1/ask", json={"question": "Wie hoch ist der Eiffelturm in Paris?"}
    ).json()
    assert body["refused"] is True
    assert body["sources"] == []


def test_timeline_lists_documents_oldest_first_with_the_latest_marked(client: TestClient) -> None:
    response = client.post(
        "/api/v1/ask", json={"question": "Sachstand Radverkehrskonzept", "timeline": True}
    )
    assert response.status_code == 200
    entries = response.json()["timeline"]
    assert len(entries) >= 3
    dates = [e["date"] for e in entries if e["date"]]
    assert dates == sorted(dates)
    marked = [e for e in entries if e["most_recent"]]
    assert len(marked) == 1 and marked[0]["date"] == dates[-1]
    assert "UV/0088/2024" in {e["reference"] for e in entries}


def test_history_turns_make_a_follow_up_standalone(client: TestClient) -> None:
    body = client.post(
        "/api/v1/ask",
        json={
            "question": "Und wann soll es eröffnet werden?",
            "history": [
                "Was kostet das neue Hallenbad?",
                {"question": "Wo wird es gebaut?", "answer": "Im Auenpark. [1]"},
            ],
        },
    ).json()
    assert body["standalone_question"] != "Und wann soll es eröffnet werden?"
    assert any("allenbad" in s["title"] for s in body["sources"])


def test_type_filter_keeps_only_that_document_type(client: TestClient) -> None:
    body = client.post(
        "/api/v1/ask", json={"question": "Kosten Grundschule Am Mühlbach", "type": ["AW"]}
    ).json()
    assert body["sources"]
    assert {s["type"] for s in body["sources"]} == {"Antwort"}


def test_date_and_reference_filters_are_applied(client: TestClient) -> None:
    body = client.post(
        "/api/v1/ask",
        json={"question": "Radverkehr Maßnahmen", "since": "2024-01-01", "until": "2024-12-31"},
    ).json()
    assert body["sources"]
    assert all("2024-01-01" <= s["date"] <= "2024-12-31" for s in body["sources"])
    by_reference = client.post(
        "/api/v1/ask", json={"question": "Kosten", "reference": "BV/0098/2021"}
    ).json()
    cited = {s["reference"] for s in by_reference["sources"]}
    # The reference filter matches the document and the documents that refer to it.
    related = client.get("/api/v1/documents", params={"reference": "BV/0098/2021"}).json()
    assert "BV/0098/2021" in cited
    assert cited <= {d["reference"] for d in related["items"]}


def test_unknown_document_type_is_rejected_in_german(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": "Kosten", "type": ["Zauberspruch"]})
    assert response.status_code == 422
    assert "Anfrage ist ungültig" in response.json()["error"]["message"]


def test_feedback_is_stored_without_question_text_or_address(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    client = make_client()
    answer_id = client.post("/api/v1/ask", json={"question": HALLENBAD}).json()["answer_id"]
    response = client.post(
        "/api/v1/feedback", json={"answer_id": answer_id, "rating": "up", "comment": "Hilfreich!"}
    )
    assert response.status_code == 201
    assert response.json() == {"stored": True}
    with sqlite3.connect(tmp_path / "api" / "feedback.sqlite3") as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM feedback")]
    assert len(rows) == 1
    row = rows[0]
    assert (row["answer_id"], row["rating"], row["comment"]) == (answer_id, "up", "Hilfreich!")
    assert row["question"] is None
    assert row["audience"] == "public"
    assert not any("testclient" in str(v) or "127.0.0.1" in str(v) for v in row.values())


def test_feedback_keeps_the_question_only_when_question_logging_is_on(
    make_client: ClientFactory,
) -> None:
    client = make_client(log_questions=True)
    answer_id = client.post("/api/v1/ask", json={"question": HALLENBAD}).json()["answer_id"]
    client.post("/api/v1/feedback", json={"answer_id": answer_id, "rating": "down"})
    rows = client.app.state.schaengel.feedback.rows()  # type: ignore[attr-defined]
    assert rows[-1]["question"] == HALLENBAD


def test_feedback_validates_rating_and_comment_length(client: TestClient) -> None:
    answer_id = str(uuid.uuid4())
    bad_rating = client.post("/api/v1/feedback", json={"answer_id": answer_id, "rating": "meh"})
    assert bad_rating.status_code == 422
    long_comment = client.post(
        "/api/v1/feedback", json={"answer_id": answer_id, "rating": "up", "comment": "x" * 2001}
    )
    assert long_comment.status_code == 422
    assert "comment" in str(long_comment.json()["error"]["details"])


def test_backend_timeout_becomes_504_with_a_german_message(
    make_client: ClientFactory, sample_container: Container
) -> None:
    client = make_client(SwappedBackendContainer(sample_container, TimeoutBackend()))
    response = client.post("/api/v1/ask", json={"question": HALLENBAD})
    assert response.status_code == 504
    assert response.json()["error"]["message"].startswith("Das Sprachmodell hat nicht rechtzeitig")
    assert "Traceback" not in response.text
    metrics = client.get("/metrics").text
    assert 'schaengel_backend_errors_total{error="backend_timeout"} 1.0' in metrics


def test_client_disconnect_stops_the_generation(
    sample_container: Container, tmp_path: Path
) -> None:
    backend = SlowBackend(tokens=400, delay=0.02)
    app = create_app(
        api_settings(tmp_path / "api"), SwappedBackendContainer(sample_container, backend)
    )
    with (
        uvicorn_in_thread(app, lifespan="on") as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        with http.stream("POST", "/api/v1/ask", json={"question": HALLENBAD, "stream": True}) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break  # first token arrived: now the reader goes away
        assert backend.closed.wait(timeout=10), "the backend generator was not closed"
        produced = backend.produced
        time.sleep(0.3)
        assert backend.produced == produced, "tokens were still generated after the disconnect"
        assert produced < 400
        metrics = http.get("/metrics").text
        assert "schaengel_answers_cancelled_total 1.0" in metrics
        assert "schaengel_answers_in_progress 0.0" in metrics
