"""The OpenAI-compatible API: /v1/models and /v1/chat/completions, plain and streamed."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import STAFF_KEY, staff

QUESTION = "Wie viel kostet der Neubau des Hallenbads im Auenpark?"


def _chunks(text: str) -> list[dict | str]:  # type: ignore[type-arg]
    items: list[dict | str] = []  # type: ignore[type-arg]
    for line in text.splitlines():
        if line.startswith("data: "):
            payload = line[len("data: ") :]
            items.append(payload if payload == "[DONE]" else json.loads(payload))
    return items


def test_models_lists_the_schaengel_model(client: TestClient) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert body["data"][0]["id"] == "schaengel"
    assert body["data"][0]["object"] == "model"


def test_completion_answers_the_last_user_message_with_sources(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": "schaengel",
            "messages": [
                {"role": "system", "content": "Du bist hilfreich."},
                {"role": "user", "content": QUESTION},
            ],
            "temperature": 0.2,
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    assert "Mio. Euro" in choice["message"]["content"]
    assert body["sources"] and body["sources"][0]["reference"]
    assert body["answer_id"] in body["id"]


def test_streamed_completion_uses_chunks_and_ends_with_done(client: TestClient) -> None:
    plain = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}
    ).json()
    response = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "stream": True},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = _chunks(response.text)
    assert chunks[-1] == "[DONE]"
    objects = [c for c in chunks if isinstance(c, dict)]
    assert all(c["object"] == "chat.completion.chunk" for c in objects)
    assert objects[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in objects)
    assert content == plain["choices"][0]["message"]["content"]
    final = objects[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["sources"] and final["answer_id"]


def test_earlier_user_messages_become_history(client: TestClient) -> None:
    body = client.post(
        "/v1/chat/completions",
        json={
            "messages": [
                {"role": "user", "content": "Was kostet das neue Hallenbad?"},
                {"role": "assistant", "content": "16,4 Mio. Euro. [1]"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Und wann soll es eröffnet werden?"}],
                },
            ]
        },
    ).json()
    assert any("allenbad" in s["title"] for s in body["sources"])


def test_a_conversation_must_end_with_a_user_message(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "Hallo"}]}
    )
    assert response.status_code == 422
    assert "role user" in response.json()["error"]["message"]


def test_staff_key_reaches_internal_documents_through_the_openai_api(client: TestClient) -> None:
    question = {
        "messages": [
            {
                "role": "user",
                "content": "Welche Bieter haben Angebote für die Rohbauarbeiten abgegeben?",
            }
        ]
    }
    public = client.post("/v1/chat/completions", json=question).json()
    assert "BV/0131/2024" not in {s["reference"] for s in public["sources"]}
    internal = client.post("/v1/chat/completions", json=question, headers=staff()).json()
    assert "BV/0131/2024" in {s["reference"] for s in internal["sources"]}


def test_the_official_openai_client_works_against_the_api(client: TestClient) -> None:
    openai = pytest.importorskip("openai")
    # SDKs always send a key: it must be a staff key (a wrong key is a 401, never a downgrade).
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=STAFF_KEY, http_client=client)
    completion = sdk.chat.completions.create(
        model="schaengel", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "Mio. Euro" in (completion.choices[0].message.content or "")
    pieces = [
        chunk.choices[0].delta.content or ""
        for chunk in sdk.chat.completions.create(
            model="schaengel", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        if chunk.choices
    ]
    assert "".join(pieces) == completion.choices[0].message.content
    wrong = openai.OpenAI(base_url="http://testserver/v1", api_key="falsch", http_client=client)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
