"""Incremental OParl sync: System → Body → Paper list → Files → the ingest pipeline.

Each list page is one step: its papers are resolved (organizations, meetings, related papers)
and their changed files downloaded by a small thread pool, the pipeline ingests them, and the
sync state is saved. The ``modified_since`` cursor of a body advances to the sync's *start*
time only when its whole list was read, so nothing modified during a sync is missed and a
failed or interrupted sync resumes at the page where it stopped.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import httpx
from filelock import FileLock, Timeout
from tqdm import tqdm

from chatbot.domain import RawDocument, Visibility
from chatbot.embedding import CountingEmbeddings
from chatbot.errors import IngestLockedError, OParlError
from chatbot.settings import Settings
from chatbot.store import ChunkStore
from ingest.oparl.client import ObjectCache, OParlClient, next_link
from ingest.oparl.files import Fetched, fetch_file, inline_text, load_now, text_document
from ingest.oparl.mapping import FileRef, PaperFields, Problem, paper_fields, paper_files
from ingest.oparl.state import SyncState, state_path
from ingest.pipeline import Failure, IngestPipeline, IngestReport
from ingest.sources import SourceDocument, document_id_for, most_restrictive

if TYPE_CHECKING:
    from chatbot.container import Container

log = logging.getLogger(__name__)

# Only these fields of looked-up objects are kept in the per-sync cache (names, dates, links):
# related papers can be large (inline files with their full text).
_CACHED_FIELDS = frozenset(
    {"id", "type", "deleted", "name", "shortName", "givenName", "familyName", "reference",
     "start", "organization", "meeting", "role", "authoritative"}
)  # fmt: skip


def sync_oparl(
    container: Container,
    url: str,
    *,
    visibility: Visibility | None = None,
    show_progress: bool | None = None,
) -> IngestReport:
    """Bring the index in line with an OParl System or Body endpoint (incrementally).

    ``show_progress`` defaults to a progress bar when stderr is a terminal.
    """
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    sync = OParlSync(
        container.settings,
        container.store,
        container.embeddings,
        visibility=visibility,
        show_progress=show_progress,
    )
    return sync.run(url)


class OParlSync:
    """Synchronises OParl sources into the index through the ingest pipeline."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        embeddings: CountingEmbeddings,
        *,
        visibility: Visibility | None = None,
        show_progress: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        # A source marked internal on the command line or in the settings stays internal.
        self.visibility = most_restrictive(visibility, settings.oparl_visibility)
        self.pipeline = IngestPipeline(settings, store, embeddings, show_progress=False)
        self.show_progress = show_progress
        self.transport = transport

    def run(self, url: str) -> IngestReport:
        """Sync one endpoint; OParlError when its entry object cannot be read at all."""
        report = IngestReport()
        started = time.perf_counter()
        lock_path = state_path(self.settings.data_dir, url).with_suffix(".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise IngestLockedError(f"another sync of {url} is running") from None
        try:
            state = SyncState.load(self.settings.data_dir, url)
            with (
                OParlClient(self.settings, transport=self.transport) as client,
                ThreadPoolExecutor(self.settings.oparl_concurrency, "oparl") as pool,
            ):
                _SyncRun(self, url, state, client, pool, report).execute()
        finally:
            lock.release()
        report.seconds = time.perf_counter() - started
        return report


@dataclass
class _PaperJob:
    """One live paper of a page: its metadata, files and what went wrong resolving them."""

    paper_id: str
    fields: PaperFields
    files: list[FileRef]
    document_ids: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    files_incomplete: bool = False


class _SyncRun:
    """The state of one sync run (one endpoint URL)."""

    def __init__(
        self,
        sync: OParlSync,
        url: str,
        state: SyncState,
        client: OParlClient,
        pool: ThreadPoolExecutor,
        report: IngestReport,
    ) -> None:
        self.sync = sync
        self.url = url
        self.state = state
        self.client = client
        self.pool = pool
        self.report = report
        self.cache = ObjectCache(client, keep=_CACHED_FIELDS)
        self.removals: list[str] = []
        self.bar = tqdm(desc="Drucksachen", unit="Drs.", disable=not sync.show_progress)

    # --- walk -------------------------------------------------------------------------------
    def execute(self) -> None:
        entry, server_now = self.client.get_json_with_date(self.url)
        # The server's clock, not ours: a skewed local clock must not skip modifications.
        now = (server_now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        bodies = self._bodies(entry)
        self._retry_failed_papers()
        for body in bodies:
            self._sync_body(body, now)
        self.bar.close()

    def _bodies(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        kind = str(entry.get("type", ""))
        if kind.endswith("/Body") or ("paper" in entry and "body" not in entry):
            return [entry]
        if not (kind.endswith("/System") or "body" in entry):
            raise OParlError(self.url, "neither an OParl System nor a Body object")
        listed = entry.get("body")
        bodies: list[dict[str, Any]] = []
        if isinstance(listed, list):  # not per spec, but seen: inline bodies or their URLs
            for item in listed:
                body = item if isinstance(item, dict) else self._get_or_fail(item, "body")
                if body and not body.get("deleted"):
                    bodies.append(body)
            return bodies
        if not isinstance(listed, str):
            raise OParlError(self.url, "the System names no body list")
        try:
            for objects, _ in self.client.iter_list(listed):
                bodies.extend(b for b in objects if not b.get("deleted"))
        except OParlError as exc:
            self._fail(exc.url, f"body list: {exc.reason}")
        return bodies

    def _sync_body(self, body: dict[str, Any], now: str) -> None:
        body_id = str(body.get("id") or self.url)
        paper_list = body.get("paper")
        if not isinstance(paper_list, str):
            self._fail(body_id, "the Body names no paper list")
            return
        progress = self.state.body(body_id)
        next_url: str | None
        if progress.resume_url:
            next_url, started = progress.resume_url, progress.resume_started or now
            log.info("resuming %s at %s", body_id, next_url)
        else:
            next_url, started = _list_url(paper_list, progress.cursor), now
        visited: set[str] = set()
        while next_url:
            if next_url in visited:
                self._fail(next_url, "paper list: links.next loops back")
                return
            visited.add(next_url)
            try:
                page = self.client.get_json(next_url)
            except OParlError as exc:
                # The cursor stays; the next sync resumes at this page.
                self._fail(exc.url, f"paper list: {exc.reason}")
                progress.resume_url, progress.resume_started = next_url, started
                self.state.save()
                return
            following = next_link(page)
            following = urljoin(next_url, following) if following else None
            self._process([p for p in page.get("data") or [] if isinstance(p, dict)])
            progress.resume_url = following
            progress.resume_started = started if following else None
            self.state.save()
            next_url = following
        progress.cursor = started
        progress.resume_url = progress.resume_started = None
        self.state.save()

    def _retry_failed_papers(self) -> None:
        """Papers whose files the server failed to deliver last time are fetched again."""
        papers: list[dict[str, Any]] = []
        for paper_id in list(self.state.retry):
            try:
                papers.append(self.client.get_json(paper_id))
            except OParlError as exc:
                if not exc.transient:
                    self.state.retry.remove(paper_id)
                self._fail(exc.url, f"paper: {exc.reason}")
        if papers:
            self._process(papers)
            self.state.save()

    # --- one page ---------------------------------------------------------------------------
    def _process(self, papers: list[dict[str, Any]]) -> None:
        for paper in papers:
            if paper.get("deleted") and paper.get("id"):
                self._remove_paper(str(paper["id"]))
        live = [p for p in papers if not p.get("deleted") and p.get("id")]
        jobs = list(self.pool.map(self._plan, live))
        fetched = self._prefetch(jobs)
        sources: list[SourceDocument] = []
        failed_docs: set[str] = set()
        for job in jobs:
            for ref in job.files:
                document_id = job.document_ids[ref.file_id]
                if document_id in failed_docs or any(s.document_id == document_id for s in sources):
                    continue  # a File of two papers on this page: ingested once
                source = self._source(job, ref, fetched.get(ref.file_id))
                if source is None:
                    failed_docs.add(document_id)
                else:
                    sources.append(source)
        part = self.sync.pipeline.run(sources) if sources else IngestReport()
        _merge(self.report, part)
        failed_sources = {f.path for f in part.failures}
        fingerprints = {s.document_id: s.fingerprint for s in sources}
        for job in jobs:
            for ref in job.files:
                document_id = job.document_ids[ref.file_id]
                if document_id in fingerprints and ref.file_id not in failed_sources:
                    self.state.fingerprints[document_id] = fingerprints[document_id]
                else:
                    self.state.fingerprints.pop(document_id, None)
            self._record_paper(job)
        self._flush_removals()
        self.bar.update(len(papers))

    def _plan(self, paper: dict[str, Any]) -> _PaperJob:
        """Resolve a paper's metadata and files (runs in the pool)."""
        problems: list[Problem] = []
        fields = paper_fields(paper, self.cache.get, problems)
        before = len(problems)
        files = paper_files(paper, fields, self.client.get_json, problems)
        ids = {ref.file_id: _document_id(fields, ref) for ref in files}
        job = _PaperJob(str(paper["id"]), fields, files, ids, problems)
        job.files_incomplete = len(problems) > before
        return job

    def _prefetch(self, jobs: list[_PaperJob]) -> dict[str, Fetched]:
        """Download and parse, in parallel, the files that are new or changed."""
        refs = [ref for job in jobs for ref in job.files if self._needs_download(job, ref)]
        results = self.pool.map(functools.partial(fetch_file, self.client), refs)
        return dict(zip([r.file_id for r in refs], results, strict=True))

    def _needs_download(self, job: _PaperJob, ref: FileRef) -> bool:
        if inline_text(ref.file) or ref.loader_name is None:
            return False
        fingerprint = ref.fingerprint(self.sync.visibility)
        known = self.state.fingerprints.get(job.document_ids[ref.file_id])
        return fingerprint is None or fingerprint != known

    def _source(
        self, job: _PaperJob, ref: FileRef, fetched: Fetched | None
    ) -> SourceDocument | None:
        """The SourceDocument of one file, or None (with a recorded problem) if it has none."""
        text = inline_text(ref.file)
        if not text and ref.loader_name is None:
            kind = ref.file.get("mimeType") or PurePosixPath(str(ref.file.get("fileName"))).suffix
            job.problems.append(Problem(ref.file_id, f"unsupported file type {kind or '?'}"))
            return None
        if fetched is not None and fetched.problem is not None:
            job.problems.append(fetched.problem)
            return None
        fingerprint = ref.fingerprint(
            self.sync.visibility, fetched.content_key if fetched else None
        )
        assert fingerprint is not None  # files without a content key were downloaded
        load: Callable[[], RawDocument]
        if text:
            load = _constant(text_document(ref))
        elif fetched is not None and fetched.raw is not None:
            load = _constant(fetched.raw)
        else:  # unchanged by the state; loaded only if the index disagrees (e.g. new model)
            load = functools.partial(load_now, self.client, ref)
        return SourceDocument(
            document_id=job.document_ids[ref.file_id],
            source=ref.file_id,
            fingerprint=fingerprint,
            load=load,
            visibility=self.sync.visibility,
            source_root=self.url,
            overrides=ref.overrides,
        )

    # --- state ------------------------------------------------------------------------------
    def _record_paper(self, job: _PaperJob) -> None:
        """Remember the paper's documents; remove those of files it no longer has."""
        current = [job.document_ids[ref.file_id] for ref in job.files]
        previous = self.state.papers.get(job.paper_id, [])
        if job.files_incomplete:  # a File could not be fetched: keep what was there
            current = list(dict.fromkeys([*previous, *current]))
        self.state.papers[job.paper_id] = current
        gone = [d for d in previous if d not in current]
        self._remove_documents(self.state.documents_only_of(job.paper_id, gone))
        for problem in job.problems:
            self._fail(problem.url, problem.reason)
        retry = any(p.transient for p in job.problems)
        if retry and job.paper_id not in self.state.retry:
            self.state.retry.append(job.paper_id)
        elif not retry and job.paper_id in self.state.retry:
            self.state.retry.remove(job.paper_id)

    def _remove_paper(self, paper_id: str) -> None:
        document_ids = self.state.papers.get(paper_id, [])
        self._remove_documents(self.state.documents_only_of(paper_id, document_ids))
        self.state.papers.pop(paper_id, None)
        if paper_id in self.state.retry:
            self.state.retry.remove(paper_id)

    def _remove_documents(self, document_ids: Sequence[str]) -> None:
        for document_id in document_ids:
            self.state.fingerprints.pop(document_id, None)
            if document_id not in self.removals:
                self.removals.append(document_id)

    def _flush_removals(self) -> None:
        """Remove the page's gone documents in one pipeline call (one index generation)."""
        present = [d for d in self.removals if self.sync.store.get_document(d) is not None]
        self.removals.clear()
        if present:
            self.report.removed += self.sync.pipeline.remove(present)

    def _get_or_fail(self, url: Any, what: str) -> dict[str, Any] | None:
        try:
            return self.client.get_json(str(url))
        except OParlError as exc:
            self._fail(exc.url, f"{what}: {exc.reason}")
            return None

    def _fail(self, url: str, reason: str) -> None:
        log.warning("OParl: %s: %s", url, reason)
        self.report.failures.append(Failure(url, reason))


# --- helpers ----------------------------------------------------------------------------------
def _list_url(url: str, cursor: str | None) -> str:
    """The first page of a list, filtered by ``modified_since`` once a sync completed."""
    return str(httpx.URL(url).copy_merge_params({"modified_since": cursor})) if cursor else url


def _document_id(fields: PaperFields, ref: FileRef) -> str:
    """One stable id per File, from the File's URL; readable by reference and file name."""
    file_name = str(ref.file.get("name") or PurePosixPath(str(ref.file.get("fileName"))).stem)
    parts = [fields.reference, file_name if ref.auxiliary or not fields.reference else ""]
    return document_id_for(ref.file_id, " ".join(p for p in parts if p) or "oparl")


def _constant(raw: RawDocument) -> Callable[[], RawDocument]:
    return lambda: raw


def _merge(into: IngestReport, part: IngestReport) -> None:
    into.new += part.new
    into.changed += part.changed
    into.unchanged += part.unchanged
    into.removed += part.removed
    into.failures.extend(part.failures)
    into.chunks_written += part.chunks_written
    into.chunks_embedded += part.chunks_embedded
    into.embed_seconds += part.embed_seconds
