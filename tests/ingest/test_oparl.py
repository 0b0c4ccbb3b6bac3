"""The OParl sync against a local fake OParl 1.1 server (hashing embedder, embedded Chroma)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chatbot.cli import app
from chatbot.container import Container
from chatbot.domain import CommitteeSession, DocumentMetadata
from chatbot.settings import Settings
from chatbot.store import ChunkStore, DocumentRecord
from ingest.oparl import USER_AGENT, OParlError, OParlSync, sync_oparl
from ingest.oparl.mapping import doc_type_for, iso_date
from ingest.oparl.state import SyncState, state_path
from tests.conftest import free_port
from tests.fakes.oparl_server import API, RunningOParl, serve

Sync = Callable[..., Any]


@pytest.fixture
def oparl() -> Iterator[RunningOParl]:
    """The fake RIS: five papers on three list pages."""
    with serve() as running:
        yield running


@pytest.fixture
def container(make_settings: Callable[..., Settings]) -> Container:
    """A fresh index; no politeness pause and short back-off so that tests stay fast."""
    return Container(
        make_settings(oparl_delay_seconds=0, oparl_backoff_seconds=0.01, oparl_max_retries=2)
    )


def by_reference(container: Container) -> dict[str, list[DocumentMetadata]]:
    """Indexed documents grouped by reference number."""
    found: dict[str, list[DocumentMetadata]] = {}
    for record in container.store.documents().values():
        found.setdefault(record.metadata.reference, []).append(record.metadata)
    return found


def main_document(container: Container, reference: str) -> DocumentMetadata:
    """The document of a paper's main file (the one without " – " in its title)."""
    return next(m for m in by_reference(container)[reference] if " – " not in m.title)


# --- first sync ---------------------------------------------------------------------------------
def test_first_sync_ingests_each_file_as_a_document_with_the_papers_metadata(
    oparl: RunningOParl, container: Container
) -> None:
    oparl.state.fail("paper?page=2", times=1, status=500)  # succeeds on the retry

    report = sync_oparl(container, oparl.system_url)

    assert report.new == 5  # BV main + Anlage, AT, ST, AW; the broken AF PDF failed
    docs = by_reference(container)
    assert sorted(docs) == ["AT/0102/2024", "AW/0105/2024", "BV/0101/2024", "ST/0103/2024"]
    bv = main_document(container, "BV/0101/2024")
    assert bv.title == "Radverkehrskonzept Innenstadt"
    assert (bv.doc_type, bv.type_code, bv.date) == ("Beschlussvorlage", "BV", "2024-01-15")
    assert bv.office == "Amt für Stadtplanung und Bauordnung"
    assert bv.url == "https://ris.example.org/vorlage/1"
    assert bv.visibility == "public"
    assert bv.committees == [
        CommitteeSession("Ausschuss für Stadtentwicklung und Mobilität", "2024-02-05"),
        CommitteeSession("Stadtrat", "2024-02-22"),
    ]
    anlage = next(m for m in docs["BV/0101/2024"] if m is not bv and m.title != bv.title)
    assert anlage.title == "Radverkehrskonzept Innenstadt – Anlage 1 Netzplan"
    assert anlage.committees == bv.committees
    assert main_document(container, "ST/0103/2024").references == ["AT/0102/2024"]
    aw = main_document(container, "AW/0105/2024")
    assert (aw.doc_type, aw.type_code, aw.references) == ("Antwort", "AW", ["AF/0104/2024"])
    at = main_document(container, "AT/0102/2024")
    assert (at.doc_type, at.office) == ("Antrag", "")  # no underDirectionOf: stays empty


def test_pdf_files_keep_their_page_numbers_for_citations(
    oparl: RunningOParl, container: Container
) -> None:
    sync_oparl(container, oparl.system_url)

    bv = main_document(container, "BV/0101/2024")
    chunks = container.store.get_chunks(where={"document_id": bv.document_id})
    pages = {c.metadata["page"]: c.page_content for c in chunks}
    assert set(pages) == {1, 2}
    assert "1,2 Millionen Euro" in pages[2]


def test_files_with_text_are_not_downloaded_and_lookups_are_cached(
    oparl: RunningOParl, container: Container
) -> None:
    sync_oparl(container, oparl.system_url)

    downloaded = {r.path for r in oparl.state.downloads()}
    assert f"{API}/file/21/download" not in downloaded  # the Antrag's File has `text`
    assert f"{API}/file/12/download" not in downloaded  # the Anlage too (fetched by URL)
    assert f"{API}/file/11/download" in downloaded  # PDF only
    assert len(oparl.state.requests_to(f"{API}/organization/1")) == 1  # two papers, one fetch
    assert {r.user_agent for r in oparl.state.requests} == {USER_AGENT}


def test_a_broken_pdf_is_reported_and_the_batch_continues(
    oparl: RunningOParl, container: Container
) -> None:
    report = sync_oparl(container, oparl.system_url)

    assert [f.path for f in report.failures] == [f"{oparl.url}{API}/file/41/download"]
    assert "PDF" in report.failures[0].reason
    assert "AW/0105/2024" in by_reference(container)  # the paper after it on the same page


# --- incremental sync ---------------------------------------------------------------------------
def test_second_sync_with_nothing_changed_downloads_nothing_and_embeds_nothing(
    oparl: RunningOParl, container: Container
) -> None:
    sync_oparl(container, oparl.system_url)
    oparl.state.clear_log()

    report = sync_oparl(container, oparl.system_url)

    assert oparl.state.downloads() == []
    assert report.chunks_embedded == 0
    assert report.failures == []
    listed = oparl.state.requests_to("/body/1/paper")
    assert len(listed) == 1 and "modified_since=" in listed[0].query


def test_relisted_paper_whose_files_did_not_change_is_not_downloaded_again(
    oparl: RunningOParl, container: Container
) -> None:
    sync_oparl(container, oparl.system_url)
    oparl.state.touch_paper(f"{API}/paper/1")
    oparl.state.touch_paper(f"{API}/paper/3")  # its PDF has no checksum: `modified` decides
    oparl.state.clear_log()

    report = sync_oparl(container, oparl.system_url)

    assert oparl.state.requests_to("/paper/1") or oparl.state.requests_to("body/1/paper")
    assert oparl.state.downloads() == []
    assert (report.unchanged, report.chunks_embedded) == (3, 0)


def test_deleted_paper_and_changed_file_reach_the_index(
    oparl: RunningOParl, container: Container
) -> None:
    sync_oparl(container, oparl.system_url)
    at_id = main_document(container, "AT/0102/2024").document_id
    oparl.state.delete_paper(f"{API}/paper/2")
    oparl.state.change_pdf(
        f"{API}/paper/1",
        f"{API}/file/11",
        ["Beschlussvorlage\nBetreff: Radverkehrskonzept Innenstadt\n\nGeänderte Fassung: "
         "Die Kosten steigen auf 1,5 Millionen Euro."],
    )  # fmt: skip
    oparl.state.clear_log()

    report = sync_oparl(container, oparl.system_url)

    assert (report.removed, report.changed) == (1, 1)
    assert container.store.get_document(at_id) is None
    assert "AT/0102/2024" not in by_reference(container)
    bv = main_document(container, "BV/0101/2024")
    text = " ".join(
        c.page_content for c in container.store.get_chunks(where={"document_id": bv.document_id})
    )
    assert "1,5 Millionen Euro" in text and "1,2 Millionen" not in text
    assert [r.path for r in oparl.state.downloads()] == [f"{API}/file/11/download"]
    state = SyncState.load(container.settings.data_dir, oparl.system_url)
    assert f"{oparl.url}{API}/paper/2" not in state.papers


def test_a_file_dropped_from_a_paper_is_removed(oparl: RunningOParl, container: Container) -> None:
    sync_oparl(container, oparl.system_url)
    paper = oparl.state.papers[f"{API}/paper/1"]
    paper["auxiliaryFile"] = []
    oparl.state.touch_paper(f"{API}/paper/1")

    report = sync_oparl(container, oparl.system_url)

    assert report.removed == 1
    assert [m.title for m in by_reference(container)["BV/0101/2024"]] == [
        "Radverkehrskonzept Innenstadt"
    ]


# --- resilience ---------------------------------------------------------------------------------
def test_a_list_page_that_keeps_failing_is_reported_and_the_next_sync_resumes_there(
    oparl: RunningOParl, container: Container
) -> None:
    oparl.state.fail("paper?page=2", times=3, status=503)  # 1 try + 2 retries

    first = sync_oparl(container, oparl.system_url)

    assert first.failures[0].path == f"{oparl.url}{API}/body/1/paper?page=2"
    assert "HTTP 503" in first.failures[0].reason and "paper list" in first.failures[0].reason
    assert sorted(by_reference(container)) == ["AT/0102/2024", "BV/0101/2024"]
    state = SyncState.load(container.settings.data_dir, oparl.system_url)
    progress = state.bodies[f"{oparl.url}{API}/body/1"]
    assert progress.cursor is None and progress.resume_url is not None
    oparl.state.clear_log()

    second = sync_oparl(container, oparl.system_url)

    listed = [r.query for r in oparl.state.requests_to("/body/1/paper")]
    assert listed == ["page=2", "page=3"]  # page 1 is not read again
    assert second.new == 2 and second.chunks_embedded == 2  # ST and AW; nothing re-embedded
    progress = SyncState.load(container.settings.data_dir, oparl.system_url).bodies[
        f"{oparl.url}{API}/body/1"
    ]
    # The cursor is the *first* sync's start: what changed since then is listed next time.
    assert progress.cursor == first_sync_cursor(progress.cursor) and progress.resume_url is None
    oparl.state.clear_log()

    third = sync_oparl(container, oparl.system_url)

    assert third.chunks_embedded == 0 and oparl.state.downloads() == []


def first_sync_cursor(cursor: str | None) -> str:
    """The cursor, checked to be an ISO date-time with a time zone (what OParl expects)."""
    assert cursor is not None and cursor.endswith("+00:00")
    return cursor


class Crash(Exception):
    """Stands for the process dying (power cut, OOM kill) in the middle of a sync."""


class CrashingStore(ChunkStore):
    """A store that dies when it is asked to commit its ``crash_at``-th document."""

    def __init__(self, container: Container, crash_at: int) -> None:
        super().__init__(container.settings, lambda: container.embeddings)
        self.commits_left = crash_at - 1

    def commit_document(self, record: DocumentRecord) -> None:
        if self.commits_left == 0:
            raise Crash
        self.commits_left -= 1
        super().commit_document(record)


def test_a_sync_interrupted_by_a_crash_resumes_without_reembedding_what_was_done(
    oparl: RunningOParl, container: Container
) -> None:
    store = CrashingStore(container, crash_at=4)  # dies on page 2, after its chunks are stored
    with pytest.raises(Crash):
        OParlSync(container.settings, store, container.embeddings).run(oparl.system_url)
    assert sorted(by_reference(container)) == ["AT/0102/2024", "BV/0101/2024"]
    oparl.state.clear_log()

    report = sync_oparl(container, oparl.system_url)

    assert [r.query for r in oparl.state.requests_to("/body/1/paper")] == ["page=2", "page=3"]
    assert report.new == 2  # ST (page 2) and AW (page 3)
    assert report.chunks_embedded == 1  # only AW: ST's chunks were stored before the crash
    assert sorted(by_reference(container)) == [
        "AT/0102/2024", "AW/0105/2024", "BV/0101/2024", "ST/0103/2024"
    ]  # fmt: skip


def test_a_download_that_keeps_failing_is_fetched_again_in_the_next_sync(
    oparl: RunningOParl, container: Container
) -> None:
    oparl.state.fail("/file/31/download", times=3, status=502)

    first = sync_oparl(container, oparl.system_url)

    failure = next(f for f in first.failures if "/file/31/" in f.path)
    assert failure.reason.startswith("download failed: HTTP 502")
    assert "ST/0103/2024" not in by_reference(container)
    assert (
        f"{oparl.url}{API}/paper/3"
        in SyncState.load(container.settings.data_dir, oparl.system_url).retry
    )

    second = sync_oparl(container, oparl.system_url)

    assert second.new == 1 and "ST/0103/2024" in by_reference(container)
    assert SyncState.load(container.settings.data_dir, oparl.system_url).retry == []


def test_429_waits_as_long_as_retry_after_says(oparl: RunningOParl, container: Container) -> None:
    oparl.state.fail("/system", times=1, status=429, retry_after=0.4)

    started = time.monotonic()
    report = sync_oparl(container, oparl.system_url)

    assert time.monotonic() - started >= 0.4
    assert report.new == 5
    assert len(oparl.state.requests_to("/system")) == 2


def test_an_unreachable_endpoint_raises_a_readable_error(container: Container) -> None:
    url = f"http://127.0.0.1:{free_port()}/oparl/v1/system"

    with pytest.raises(OParlError, match="after 3 attempts"):
        sync_oparl(container, url)


def test_politeness_delay_spaces_requests(
    oparl: RunningOParl, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(oparl_delay_seconds=0.05, oparl_concurrency=2)
    container = Container(settings)

    started = time.monotonic()
    sync_oparl(container, oparl.body_url)

    requests = len(oparl.state.requests)
    assert time.monotonic() - started >= 0.05 * (requests - 1)


# --- endpoints and visibility -------------------------------------------------------------------
def test_a_body_endpoint_syncs_that_body(oparl: RunningOParl, container: Container) -> None:
    report = sync_oparl(container, oparl.body_url)

    assert report.new == 5
    assert oparl.state.requests_to("/system") == []
    assert state_path(container.settings.data_dir, oparl.body_url).is_file()


def test_internal_visibility_marks_the_whole_source(
    oparl: RunningOParl, make_settings: Callable[..., Settings]
) -> None:
    container = Container(make_settings(oparl_delay_seconds=0, oparl_visibility="internal"))

    sync_oparl(container, oparl.system_url, visibility="public")  # settings restrict further

    visibilities = {r.metadata.visibility for r in container.store.documents().values()}
    assert visibilities == {"internal"}


def test_a_visibility_change_reingests_the_whole_source(
    oparl: RunningOParl, container: Container
) -> None:
    sync = OParlSync(container.settings, container.store, container.embeddings)
    sync.run(oparl.system_url)
    state = SyncState.load(container.settings.data_dir, oparl.system_url)
    for body in state.bodies.values():
        body.cursor = None  # a full re-list, as after `rm data/oparl/*.json` with a kept index
    state.save()

    report = sync_oparl(container, oparl.system_url, visibility="internal")

    assert report.changed == 5
    visibilities = {r.metadata.visibility for r in container.store.documents().values()}
    assert visibilities == {"internal"}


# --- mapping ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("paper_type", "expected"),
    [
        ("Beschlussvorlage", ("Beschlussvorlage", "BV")),
        ("Antrag", ("Antrag", "AT")),
        ("Änderungsantrag der Fraktion", ("Antrag", "AT")),
        ("Anfrage", ("Anfrage", "AF")),
        ("Beantwortung einer Anfrage", ("Antwort", "AW")),
        ("Stellungnahme der Verwaltung", ("Stellungnahme", "ST")),
        ("Mitteilungsvorlage", ("Mitteilungsvorlage", "MV")),
        ("Niederschrift", ("Niederschrift", "NI")),
        ("BV", ("Beschlussvorlage", "BV")),
        ("Bericht  des Bürgermeisters", ("Bericht des Bürgermeisters", "")),
        ("", ("", "")),
    ],
)
def test_paper_types_map_to_our_type_codes_where_one_fits(
    paper_type: str, expected: tuple[str, str]
) -> None:
    assert doc_type_for(paper_type) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2024-01-31", "2024-01-31"), ("2024-02-05T17:00:00+01:00", "2024-02-05"), ("31.01.", ""),
     (None, "")],
)  # fmt: skip
def test_oparl_dates_become_iso_dates(value: Any, expected: str) -> None:
    assert iso_date(value) == expected


# --- CLI ----------------------------------------------------------------------------------------
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SCHAENGEL_DATA_DIR": str(tmp_path / "cli-data"),
        "SCHAENGEL_EMBEDDING_MODEL": "hashing:256",
        "SCHAENGEL_OPARL_DELAY_SECONDS": "0",
        "SCHAENGEL_OPARL_BACKOFF_SECONDS": "0.01",
    }


def test_cli_ingest_oparl_prints_the_report_as_json(oparl: RunningOParl, tmp_path: Path) -> None:
    runner = CliRunner()

    result = runner.invoke(
        app, ["ingest", "--oparl", oparl.system_url, "--json"], env=cli_env(tmp_path)
    )

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["documents"]["new"] == 5
    assert summary["failures"][0]["path"].endswith("/file/41/download")
    again = runner.invoke(
        app, ["ingest", "--oparl", oparl.system_url, "--json"], env=cli_env(tmp_path)
    )
    assert json.loads(again.stdout)["chunks_embedded"] == 0


def test_cli_visibility_internal_marks_the_source_internal(
    oparl: RunningOParl, tmp_path: Path
) -> None:
    env = cli_env(tmp_path)
    result = CliRunner().invoke(
        app, ["ingest", "--oparl", oparl.body_url, "--visibility", "internal"], env=env
    )
    assert result.exit_code == 0, result.output

    listed = CliRunner().invoke(app, ["sources", "--json"], env=env)
    rows = json.loads(listed.stdout)
    assert len(rows) == 5 and {row["visibility"] for row in rows} == {"internal"}


def test_cli_reports_an_unreachable_endpoint_without_a_trace(tmp_path: Path) -> None:
    env = cli_env(tmp_path) | {"SCHAENGEL_OPARL_MAX_RETRIES": "0"}
    url = f"http://127.0.0.1:{free_port()}/oparl/v1/system"

    result = CliRunner().invoke(app, ["ingest", "--oparl", url], env=env)

    assert result.exit_code == 1
    assert "Traceback" not in result.output and url in result.output
