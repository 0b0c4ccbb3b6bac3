"""Hybrid retrieval on the sample corpus: references, compounds, filters and audience scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from chatbot.container import Container
from chatbot.retrieval import SearchFilters
from chatbot.settings import Settings
from ingest.pipeline import IngestPipeline
from ingest.sources import discover_files
from tests.ingest.test_pipeline import BV_TEXT, ST_TEXT

MARKERS = ("Kennwort Eisvogel-7731", "Kennwort Kranich-4402", "Kennwort Feldlerche-2958")


def references(results: list) -> list[str]:
    return [r.chunk.metadata["reference"] for r in results]


def test_a_named_reference_number_comes_first(sample_container: Container) -> None:
    for question, reference in [
        ("Was steht in BV/0123/2024?", "BV/0123/2024"),
        ("Antrag AT/0009/2022", "AT/0009/2022"),
        ("Worum geht es in bv 98/2021?", "BV/0098/2021"),
    ]:
        results = sample_container.retriever.retrieve(question, k=6)
        assert references(results)[0] == reference, (question, references(results))


def test_the_stellungnahme_to_a_named_antrag_is_reachable(sample_container: Container) -> None:
    results = sample_container.retriever.retrieve("Antrag AT/0009/2022", k=6)
    assert "ST/0015/2022" in references(results)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Radverkehrskonzept Online-Beteiligung", "UV/0042/2020"),  # "Konzept für den Radverkehr"
        ("Schulsanierung Containeranlage", "BV/0123/2024"),  # "Sanierung der Grundschule"
    ],
)
def test_german_compounds_match_their_parts(
    sample_container: Container, question: str, expected: str
) -> None:
    results = sample_container.retriever.retrieve(question, k=5, mode="lexical")
    assert expected in references(results)


def test_each_filter_is_applied_inside_the_query(sample_container: Container) -> None:
    retriever = sample_container.retriever
    by_type = retriever.retrieve("Kosten", k=10, filters=SearchFilters(doc_types=["Antrag"]))
    assert by_type and {r.chunk.metadata["type_code"] for r in by_type} == {"AT"}
    by_committee = retriever.retrieve(
        "Kosten", k=10, filters=SearchFilters(committee="Schulträger")
    )
    assert by_committee
    assert all("Schulträgerausschuss" in r.chunk.metadata["committees"] for r in by_committee)
    in_2023 = retriever.retrieve(
        "Kosten",
        k=10,
        filters=SearchFilters(since=date(2023, 1, 1), until=date(2023, 12, 31)),
    )
    assert in_2023 and all(r.chunk.metadata["date"].startswith("2023") for r in in_2023)
    by_reference = retriever.retrieve(
        "Kosten", k=10, filters=SearchFilters(reference="AT/0027/2023")
    )
    assert set(references(by_reference)) <= {"AT/0027/2023", "ST/0031/2023"}
    assert "ST/0031/2023" in references(by_reference)


def test_public_requests_never_retrieve_internal_chunks(sample_container: Container) -> None:
    retriever = sample_container.retriever
    for marker in MARKERS:
        for mode in ("lexical", "dense", "hybrid"):
            public = retriever.retrieve(marker, k=20, mode=mode, audience="public")
            assert all(r.chunk.metadata["visibility"] == "public" for r in public)
            assert not any(marker in r.chunk.page_content for r in public)
        # Asking for internal documents explicitly does not widen the scope either.
        forced = retriever.retrieve(
            marker, k=20, audience="public", filters=SearchFilters(visibility="internal")
        )
        assert all(r.chunk.metadata["visibility"] == "public" for r in forced)
    staff = retriever.retrieve(MARKERS[0], k=5, audience="staff")
    assert any(MARKERS[0] in r.chunk.page_content for r in staff)


def test_lexical_index_follows_ingest_removal_and_is_rebuilt_when_missing(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(lexical_refresh_seconds=0)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bv.txt").write_text(BV_TEXT, encoding="utf-8")
    container = Container(settings)
    pipeline = IngestPipeline(settings, container.store, container.embeddings, show_progress=False)
    pipeline.run(discover_files([corpus], "public")[0])
    assert references(container.retriever.retrieve("Brücke Mühlbach", k=3, mode="lexical"))

    (corpus / "st.txt").write_text(ST_TEXT, encoding="utf-8")
    pipeline.run(discover_files([corpus], "public")[0])
    found = container.retriever.retrieve("Hundesteuer-App", k=3, mode="lexical")
    assert references(found)[:1] == ["ST/0020/2025"]

    st_id = found[0].document_id
    pipeline.remove([st_id])
    assert not container.retriever.retrieve("Hundesteuer-App", k=3, mode="lexical")

    (settings.data_dir / "lexical.pkl").unlink()
    fresh = Container(settings)
    assert references(fresh.retriever.retrieve("Brücke Mühlbach", k=3, mode="lexical")) == [
        "BV/0201/2024"
    ] * len(fresh.retriever.retrieve("Brücke Mühlbach", k=3, mode="lexical"))
