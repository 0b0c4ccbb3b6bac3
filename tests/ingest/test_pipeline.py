"""The ingest pipeline end to end with real files: incremental, safe, reporting every failure."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from typer.testing import CliRunner

from chatbot.cli import app
from chatbot.container import Container
from chatbot.errors import IngestLockedError
from chatbot.settings import Settings
from ingest.pipeline import Failure, IngestPipeline, IngestReport
from ingest.sources import discover_files

BV_TEXT = """Beschlussvorlage
Vorlage: BV/0201/2024 Datum: 04.03.2024
Verfasser: 66-Tiefbauamt
Betreff:
Erneuerung der Brücke über den Mühlbach
Gremienweg:
12.03.2024 Bauausschuss

Beschlussempfehlung:
Der Bauausschuss beschließt die Erneuerung der Brücke mit Kosten von 2,4 Mio. Euro.

Begründung:
Die Brücke ist marode. Die Verwal-
tung empfiehlt den Ersatzneubau im Jahr 2025.
"""

ST_TEXT = """Stellungnahme zum Antrag Nr. AT/0014/2025
Vorlage: ST/0020/2025 Datum: 05.02.2025
Verfasser: 20-Kämmerei
Betreff:
Stellungnahme zur Einführung einer Hundesteuer-App

Stellungnahme:
Die Verwaltung hält eine eigene App für nicht wirtschaftlich.
"""


def run_ingest(settings: Settings, *paths: Path, prune: bool = False) -> IngestReport:
    container = Container(settings)
    sources, failures = discover_files(list(paths), "public")
    pipeline = IngestPipeline(settings, container.store, container.embeddings, show_progress=False)
    return pipeline.run(
        sources,
        prune_roots=[str(p.resolve()) for p in paths] if prune else (),
        failures=[Failure(f.path, f.reason) for f in failures],
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "bv.txt").write_text(BV_TEXT, encoding="utf-8")
    (folder / "st.txt").write_text(ST_TEXT, encoding="utf-8")
    return folder


def test_first_ingest_reports_new_documents_and_chunks(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    report = run_ingest(make_settings(), corpus)
    assert report.to_json()["documents"] == {
        "new": 2,
        "changed": 0,
        "unchanged": 0,
        "removed": 0,
        "failed": 0,
    }
    assert report.chunks_written == report.chunks_embedded > 0


def test_unchanged_corpus_is_not_reembedded(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    settings = make_settings()
    run_ingest(settings, corpus)
    again = run_ingest(settings, corpus)
    assert again.unchanged == 2
    assert again.chunks_embedded == 0 and again.chunks_written == 0


def test_changed_document_replaces_its_chunks_without_mixing_versions(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    settings = make_settings()
    run_ingest(settings, corpus)
    (corpus / "bv.txt").write_text(BV_TEXT.replace("2,4 Mio.", "3,1 Mio."), encoding="utf-8")
    report = run_ingest(settings, corpus)
    assert (report.changed, report.unchanged) == (1, 1)
    store = Container(settings).store
    texts = " ".join(c.page_content for c in store.get_chunks(where={"reference": "BV/0201/2024"}))
    assert "3,1 Mio." in texts and "2,4 Mio." not in texts
    record = store.documents()
    hashes = {c.metadata["content_hash"] for c in store.get_chunks()}
    assert hashes == {r.metadata.content_hash for r in record.values()}


def test_prune_removes_documents_deleted_at_the_source(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    settings = make_settings()
    run_ingest(settings, corpus)
    (corpus / "st.txt").unlink()
    report = run_ingest(settings, corpus, prune=True)
    assert report.removed == 1
    store = Container(settings).store
    assert [r.metadata.reference for r in store.documents().values()] == ["BV/0201/2024"]
    assert not store.get_chunks(where={"reference": "ST/0020/2025"})


def test_corrupt_and_unknown_files_are_reported_and_the_batch_continues(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    (corpus / "kaputt.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "tabelle.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / "leer.txt").write_text("   \n", encoding="utf-8")
    report = run_ingest(make_settings(), corpus)
    assert report.new == 2
    reasons = {Path(f.path).name: f.reason for f in report.failures}
    assert set(reasons) == {"kaputt.pdf", "tabelle.xlsx", "leer.txt"}
    assert "corrupt PDF" in reasons["kaputt.pdf"]
    assert "unsupported file type .xlsx" in reasons["tabelle.xlsx"]
    assert "empty" in reasons["leer.txt"]


def test_a_file_that_breaks_keeps_its_previous_version(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    settings = make_settings()
    run_ingest(settings, corpus)
    (corpus / "st.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    report = run_ingest(settings, corpus, prune=True)
    assert report.removed == 0
    assert any("st.txt" in f.path for f in report.failures)
    refs = {r.metadata.reference for r in Container(settings).store.documents().values()}
    assert "ST/0020/2025" in refs


def test_sidecar_can_make_a_file_internal_but_never_public(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    (corpus / "st.txt.meta.json").write_text(json.dumps({"visibility": "internal"}))
    settings = make_settings()
    run_ingest(settings, corpus)
    records = {r.metadata.reference: r for r in Container(settings).store.documents().values()}
    assert records["ST/0020/2025"].metadata.visibility == "internal"
    assert records["BV/0201/2024"].metadata.visibility == "public"
    chunks = Container(settings).store.get_chunks(where={"reference": "ST/0020/2025"})
    assert chunks and {c.metadata["visibility"] for c in chunks} == {"internal"}


def test_metadata_reaches_every_chunk(make_settings: Callable[..., Settings], corpus: Path) -> None:
    settings = make_settings()
    run_ingest(settings, corpus)
    chunks = Container(settings).store.get_chunks(where={"reference": "BV/0201/2024"})
    meta = chunks[0].metadata
    assert meta["doc_type"] == "Beschlussvorlage" and meta["type_code"] == "BV"
    assert meta["date"] == "2024-03-04" and meta["date_int"] == 20240304
    assert meta["office"] == "66-Tiefbauamt"
    assert meta["committees"] == ["Bauausschuss"]
    assert "Verwaltung empfiehlt" in " ".join(c.page_content for c in chunks)


def test_second_ingest_on_a_locked_data_dir_is_refused(
    make_settings: Callable[..., Settings], corpus: Path
) -> None:
    settings = make_settings()
    settings.data_dir.mkdir(parents=True)
    with FileLock(str(settings.data_dir / "ingest.lock")), pytest.raises(IngestLockedError):
        run_ingest(settings, corpus)


def _cli(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_cli_prints_json_summary_and_sources(tmp_path: Path, corpus: Path) -> None:
    env = {"SCHAENGEL_DATA_DIR": str(tmp_path / "d"), "SCHAENGEL_EMBEDDING_MODEL": "hashing:64"}
    result = _cli(env, "ingest", str(corpus), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["documents"]["new"] == 2 and summary["failures"] == []
    assert {"chunks_written", "chunks_embedded", "seconds"} <= summary.keys()
    rows = json.loads(_cli(env, "sources", "--json").stdout)
    by_ref = {row["reference"]: row for row in rows}
    assert by_ref["ST/0020/2025"]["references"] == ["AT/0014/2025"]
    assert by_ref["BV/0201/2024"]["committees"] == [
        {"committee": "Bauausschuss", "date": "2024-03-12"}
    ]
    for key in ("document_id", "title", "type", "date", "office", "visibility", "source", "chunks"):
        assert key in by_ref["BV/0201/2024"]


def test_cli_removes_by_reference_number(tmp_path: Path, corpus: Path) -> None:
    env = {"SCHAENGEL_DATA_DIR": str(tmp_path / "d"), "SCHAENGEL_EMBEDDING_MODEL": "hashing:64"}
    _cli(env, "ingest", str(corpus))
    result = _cli(env, "remove", "ST/0020/2025")
    assert result.exit_code == 0 and "1 Dokument" in result.stdout
    rows = json.loads(_cli(env, "sources", "--json").stdout)
    assert [r["reference"] for r in rows] == ["BV/0201/2024"]
    assert _cli(env, "remove", "XX/9999/2099").exit_code == 1


def test_invalid_settings_fail_with_a_readable_message(tmp_path: Path, corpus: Path) -> None:
    env = {"SCHAENGEL_DATA_DIR": str(tmp_path / "d"), "SCHAENGEL_TOP_K": "many"}
    result = CliRunner().invoke(app, ["sources"], env=env)
    assert result.exit_code == 2
    assert "SCHAENGEL_TOP_K" in result.output and "Traceback" not in result.output
