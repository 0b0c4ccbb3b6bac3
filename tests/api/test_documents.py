"""GET /api/v1/documents (filters, pagination) and /api/v1/documents/{id}; the reading page."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

PUBLIC_DOCUMENTS = 26  # 29 in the sample corpus, 3 of them internal


def test_list_is_paginated_newest_first(client: TestClient) -> None:
    first = client.get("/api/v1/documents", params={"limit": 10}).json()
    second = client.get("/api/v1/documents", params={"limit": 10, "offset": 10}).json()
    assert first["total"] == second["total"] == PUBLIC_DOCUMENTS
    assert (first["offset"], first["limit"], len(first["items"])) == (0, 10, 10)
    ids_first = {d["document_id"] for d in first["items"]}
    ids_second = {d["document_id"] for d in second["items"]}
    assert not ids_first & ids_second
    dates = [d["date"] for d in first["items"] + second["items"]]
    assert dates == sorted(dates, reverse=True)
    last = client.get("/api/v1/documents", params={"limit": 10, "offset": 20}).json()
    assert len(last["items"]) == PUBLIC_DOCUMENTS - 20


def test_list_filters_by_type_committee_dates_and_reference(client: TestClient) -> None:
    answers = client.get("/api/v1/documents", params={"type": "AW"}).json()
    assert {d["reference"] for d in answers["items"]} == {
        "AW/0015/2021",
        "AW/0036/2023",
        "AW/0050/2024",
    }
    school = client.get("/api/v1/documents", params={"committee": "Schulträger"}).json()
    assert school["total"] >= 4
    assert all(
        any("Schulträger" in c["committee"] for c in d["committees"]) for d in school["items"]
    )
    in_2023 = client.get(
        "/api/v1/documents", params={"since": "2023-01-01", "until": "2023-12-31"}
    ).json()
    assert in_2023["items"] and all(d["date"].startswith("2023") for d in in_2023["items"])
    by_reference = client.get("/api/v1/documents", params={"reference": "BV/0117/2020"}).json()
    references = {d["reference"] for d in by_reference["items"]}
    assert "BV/0117/2020" in references  # and the documents that cite it
    assert references >= {"BV/0117/2020", "AT/0009/2022"}


def test_list_rejects_unknown_parameters_and_bad_pages(client: TestClient) -> None:
    assert client.get("/api/v1/documents", params={"limit": 1000}).status_code == 422
    assert client.get("/api/v1/documents", params={"offset": -1}).status_code == 422
    response = client.get("/api/v1/documents", params={"sort": "title"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_detail_has_metadata_and_the_full_text_in_reading_order(client: TestClient) -> None:
    listing = client.get("/api/v1/documents", params={"reference": "BV/0098/2021"}).json()
    document_id = next(
        d["document_id"] for d in listing["items"] if d["reference"] == "BV/0098/2021"
    )
    response = client.get(f"/api/v1/documents/{document_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == "BV/0098/2021"
    assert body["type"] == "Beschlussvorlage"
    assert body["committees"][0]["committee"]
    text = body["text"]
    assert text.index("Betreff") < text.index("Begründung")
    assert "16,4 Mio. Euro" in text
    lines = [line for line in text.split("\n") if line.strip()]
    repeated = [a for a, b in itertools.pairwise(lines) if a == b]
    assert not repeated, "chunk overlap must not be repeated"


def test_unknown_document_is_404_in_german(client: TestClient) -> None:
    response = client.get("/api/v1/documents/gibt-es-nicht")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Das Dokument wurde nicht gefunden."


def test_reading_page_renders_a_public_document_as_escaped_html(client: TestClient) -> None:
    listing = client.get("/api/v1/documents", params={"reference": "ST/0015/2022"}).json()
    document_id = listing["items"][0]["document_id"]
    page = client.get(f"/dokumente/{document_id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text and "ST/0015/2022" in page.text
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert client.get("/dokumente/gibt-es-nicht").status_code == 404
