"""A fake OParl 1.1 server: System → Body → paginated Paper list, Files, Organizations, Meetings.

It honours ``modified_since`` (deleted papers then come back as ``deleted: true``), paginates
with ``links.next``, serves real PDFs (made with fpdf2) and records every request. Faults are
injected per URL substring: ``state.fail("page=2", times=1, status=500)`` in-process, or
``POST /_fail {"match": "page=2", "times": 1, "status": 500}`` for a subprocess.

Run standalone: ``python -m tests.fakes.oparl_server --port 8090`` → http://127.0.0.1:8090/oparl/v1/system
"""

from __future__ import annotations

import argparse
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes import uvicorn_in_thread

API = "/oparl/v1"
SCHEMA = "https://schema.oparl.org/1.1"
_LONG_AGO = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def pdf_bytes(pages: list[str]) -> bytes:
    """A real PDF with one page per text (core font: Latin-1 covers the umlauts)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


@dataclass
class Fault:
    """Answer the next ``times`` requests whose path and query contain ``match`` with ``status``."""

    match: str
    times: int
    status: int = 500
    retry_after: float | None = None


@dataclass
class Seen:
    """One request as the fake received it."""

    path: str
    query: str
    user_agent: str

    @property
    def target(self) -> str:
        """Path and query as one string."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class OParlFakeState:
    """The objects the fake serves (ids are paths; rendered as absolute URLs) and its log."""

    papers: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    contents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    page_size: int = 2
    faults: list[Fault] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- test controls ----------------------------------------------------------------------
    def fail(
        self, match: str, times: int = 1, status: int = 500, retry_after: float | None = None
    ) -> None:
        """Fail the next ``times`` requests matching ``match``."""
        with self._lock:
            self.faults.append(Fault(match, times, status, retry_after))

    def requests_to(self, fragment: str) -> list[Seen]:
        """Recorded requests whose path and query contain ``fragment``."""
        return [r for r in self.requests if fragment in r.target]

    def downloads(self) -> list[Seen]:
        """Recorded file downloads."""
        return [r for r in self.requests if r.path.endswith("/download")]

    def clear_log(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    def delete_paper(self, paper_id: str) -> None:
        """Mark a paper deleted now (listed with ``deleted: true`` under ``modified_since``)."""
        self.papers[paper_id]["deleted"] = True
        self.papers[paper_id]["modified"] = _now()

    def touch_paper(self, paper_id: str) -> None:
        """Change a paper's modification time only."""
        self.papers[paper_id]["modified"] = _now()

    def change_pdf(self, paper_id: str, file_id: str, pages: list[str]) -> None:
        """Replace a file's PDF (new checksum) and mark file and paper modified."""
        data = pdf_bytes(pages)
        self.contents[file_id] = (data, "application/pdf")
        file = self.files[file_id]
        file["modified"] = _now()
        file["size"] = len(data)
        if "sha512Checksum" in file:
            file["sha512Checksum"] = hashlib.sha512(data).hexdigest()
        self.papers[paper_id]["modified"] = _now()

    # --- serving ----------------------------------------------------------------------------
    def take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match in target:
                    fault.times -= 1
                    return fault
        return None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)


def _now() -> datetime:
    return datetime.now(UTC)


def _pdf_file(
    state: OParlFakeState, file_id: str, name: str, pages: list[str], **extra: Any
) -> dict[str, Any]:
    data = pdf_bytes(pages)
    state.contents[file_id] = (data, "application/pdf")
    state.files[file_id] = {
        "id": file_id,
        "type": f"{SCHEMA}/File",
        "name": name,
        "fileName": f"{name.replace(' ', '_')}.pdf",
        "mimeType": "application/pdf",
        "size": len(data),
        "accessUrl": f"{file_id}/download",
        "downloadUrl": f"{file_id}/download",
        "date": "2024-01-10",
        "modified": _LONG_AGO,
        **extra,
    }
    return state.files[file_id]


def _text_file(state: OParlFakeState, file_id: str, name: str, text: str) -> dict[str, Any]:
    state.files[file_id] = {
        "id": file_id,
        "type": f"{SCHEMA}/File",
        "name": name,
        "fileName": f"{name.replace(' ', '_')}.doc",  # a format we cannot read: text must win
        "mimeType": "application/msword",
        "text": text,
        "accessUrl": f"{file_id}/download",
        "date": "2024-01-10",
        "modified": _LONG_AGO,
    }
    state.contents[file_id] = (b"\xd0\xcf\x11\xe0 not really a Word file", "application/msword")
    return state.files[file_id]


def demo_state() -> OParlFakeState:
    """Five papers of one body (three list pages), with the cases a sync must handle."""
    state = OParlFakeState()
    org = f"{API}/organization"
    state.objects.update(
        {
            f"{org}/1": {"name": "Amt für Stadtplanung und Bauordnung", "shortName": "61"},
            f"{org}/2": {"name": "Ausschuss für Stadtentwicklung und Mobilität"},
            f"{org}/3": {"name": "Stadtrat"},
            f"{org}/4": {"name": "Fraktion Bündnis 90/Die Grünen"},
            f"{API}/person/1": {"name": "Erika Beispiel", "familyName": "Beispiel"},
            f"{API}/meeting/1": {
                "name": "5. Sitzung des Ausschusses für Stadtentwicklung und Mobilität",
                "start": "2024-02-05T17:00:00+01:00",
                "organization": [f"{org}/2"],
            },
            f"{API}/meeting/2": {
                "name": "12. Sitzung des Stadtrats",
                "start": "2024-02-22T16:00:00+01:00",
                "organization": [f"{org}/3"],
            },
        }
    )
    for object_id, obj in state.objects.items():
        kind = object_id.split("/")[-2].capitalize()
        obj.update({"id": object_id, "type": f"{SCHEMA}/{kind}", "modified": _LONG_AGO})

    main1 = _pdf_file(
        state,
        f"{API}/file/11",
        "Beschlussvorlage Radverkehrskonzept",
        [
            "Beschlussvorlage\nBetreff: Radverkehrskonzept Innenstadt\n\nDer Stadtrat beschließt "
            "das Radverkehrskonzept für die Innenstadt mit neuen Radwegen am Rheinufer.",
            "Begründung:\nDie Zahl der Radfahrenden ist seit 2019 um ein Drittel gestiegen. "
            "Die Kosten betragen 1,2 Millionen Euro.",
        ],
    )
    main1["sha512Checksum"] = hashlib.sha512(state.contents[main1["id"]][0]).hexdigest()
    _text_file(
        state,
        f"{API}/file/12",
        "Anlage 1 Netzplan",
        "Anlage 1 zum Radverkehrskonzept: Netzplan der Radwege mit Fahrradstraßen in der "
        "Altstadt und einer Brücke über die Mosel.",
    )
    main2 = _text_file(
        state,
        f"{API}/file/21",
        "Antrag Tempo 30",
        "Antrag der Fraktion: Die Verwaltung wird beauftragt, vor allen Grundschulen Tempo 30 "
        "anzuordnen und die Schulwege sicherer zu machen.",
    )
    _pdf_file(
        state,
        f"{API}/file/31",
        "Stellungnahme Tempo 30",
        [
            "Stellungnahme der Verwaltung zum Antrag AT/0102/2024.\nDie Verwaltung prüft Tempo 30 "
            "vor den Grundschulen und berichtet im Herbst über die Verkehrszählungen."
        ],
    )
    state.files[f"{API}/file/41"] = {
        "id": f"{API}/file/41",
        "type": f"{SCHEMA}/File",
        "name": "Anfrage Grundschule",
        "fileName": "Anfrage_Grundschule.pdf",
        "mimeType": "application/pdf",
        "accessUrl": f"{API}/file/41/download",
        "date": "2024-01-10",
        "modified": _LONG_AGO,
    }
    state.contents[f"{API}/file/41"] = (b"%PDF-1.4\nthis is not a PDF at all", "application/pdf")
    _pdf_file(
        state,
        f"{API}/file/51",
        "Antwort Grundschule",
        [
            "Antwort der Verwaltung: Die Sanierung der Grundschule am Markt beginnt im Sommer "
            "2025 und dauert zwei Jahre."
        ],
        sha1Checksum="0" * 40,  # replaced below with the real one
    )
    state.files[f"{API}/file/51"]["sha1Checksum"] = hashlib.sha1(
        state.contents[f"{API}/file/51"][0]
    ).hexdigest()

    def paper(n: int, **fields: Any) -> None:
        paper_id = f"{API}/paper/{n}"
        state.papers[paper_id] = {
            "id": paper_id,
            "type": f"{SCHEMA}/Paper",
            "body": f"{API}/body/1",
            "web": f"https://ris.example.org/vorlage/{n}",
            "modified": _LONG_AGO,
            **fields,
        }

    paper(
        1,
        name="Radverkehrskonzept Innenstadt",
        reference="BV/0101/2024",
        paperType="Beschlussvorlage",
        date="2024-01-15",
        underDirectionOf=[f"{org}/1"],
        mainFile=f"@{API}/file/11",  # inline
        auxiliaryFile=[f"{API}/file/12"],  # by URL
        consultation=[
            {
                "id": f"{API}/consultation/1",
                "type": f"{SCHEMA}/Consultation",
                "paper": f"{API}/paper/1",
                "meeting": f"{API}/meeting/1",
                "organization": [f"{org}/2"],
                "role": "Vorberatung",
                "authoritative": False,
            },
            {
                "id": f"{API}/consultation/2",
                "type": f"{SCHEMA}/Consultation",
                "paper": f"{API}/paper/1",
                "meeting": f"{API}/meeting/2",
                "organization": [f"{org}/3"],
                "role": "Entscheidung",
                "authoritative": True,
            },
        ],
    )
    paper(
        2,
        name="Tempo 30 vor Grundschulen",
        reference="AT/0102/2024",
        paperType="Antrag",
        date="2024-01-20",
        originatorOrganization=[f"{org}/4"],
        originatorPerson=[f"{API}/person/1"],
        mainFile=f"@{main2['id']}",
    )
    paper(
        3,
        name="Stellungnahme zum Antrag Tempo 30 vor Grundschulen",
        reference="ST/0103/2024",
        paperType="Stellungnahme der Verwaltung",
        date="2024-02-01",
        underDirectionOf=[f"{org}/1"],
        relatedPaper=[f"{API}/paper/2"],
        mainFile=f"@{API}/file/31",
    )
    paper(
        4,
        name="Sanierung der Grundschule am Markt",
        reference="AF/0104/2024",
        paperType="Anfrage",
        date="2024-02-03",
        mainFile=f"@{API}/file/41",
    )
    paper(
        5,
        name="Sanierung der Grundschule am Markt",
        reference="AW/0105/2024",
        paperType="Beantwortung einer Anfrage",
        date="2024-02-10",
        relatedPaper=[f"{API}/paper/4"],
        mainFile=f"@{API}/file/51",
    )
    return state


# --- rendering --------------------------------------------------------------------------------
def _render(value: Any, base: str, state: OParlFakeState) -> Any:
    """Absolute URLs for our paths, "@path" as the inline File object, ISO date-times."""
    if isinstance(value, dict):
        return {k: _render(v, base, state) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, base, state) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, str) and value.startswith("@"):
        return _render(state.files[value[1:]], base, state)
    if isinstance(value, str) and value.startswith(f"{API}/"):
        return base + value
    return value


def _paper_view(paper: dict[str, Any]) -> dict[str, Any]:
    if paper.get("deleted"):
        return {k: paper[k] for k in ("id", "type", "modified", "deleted")}
    return paper


def create_app(state: OParlFakeState) -> FastAPI:
    """The fake server's app over ``state``."""
    app = FastAPI()

    @app.middleware("http")
    async def record_and_inject(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/_"):
            return await call_next(request)
        seen = Seen(request.url.path, request.url.query, request.headers.get("user-agent", ""))
        state.record(seen)
        fault = state.take_fault(seen.target)
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after else {}
            return JSONResponse({"error": "injected"}, fault.status, headers=headers)
        return await call_next(request)

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def obj(request: Request, data: dict[str, Any]) -> JSONResponse:
        return JSONResponse(_render(data, base(request), state))

    @app.get(f"{API}/system")
    async def system(request: Request) -> JSONResponse:
        return obj(
            request,
            {
                "id": f"{API}/system",
                "type": f"{SCHEMA}/System",
                "oparlVersion": "https://schema.oparl.org/1.1/",
                "name": "Fake-RIS",
                "body": f"{API}/bodies",
            },
        )

    @app.get(f"{API}/bodies")
    async def bodies(request: Request) -> JSONResponse:
        return obj(request, {"data": [_body()], "pagination": {"totalElements": 1}, "links": {}})

    @app.get(f"{API}/body/1")
    async def body(request: Request) -> JSONResponse:
        return obj(request, _body())

    @app.get(f"{API}/body/1/paper")
    async def papers(
        request: Request, page: int = 1, modified_since: str | None = None
    ) -> JSONResponse:
        since = datetime.fromisoformat(modified_since) if modified_since else None
        listed = [
            _paper_view(p)
            for _, p in sorted(state.papers.items(), key=lambda item: int(item[0].split("/")[-1]))
            if (since is None and not p.get("deleted")) or (since and p["modified"] >= since)
        ]
        start = (page - 1) * state.page_size
        data = listed[start : start + state.page_size]
        links: dict[str, str] = {}
        if start + state.page_size < len(listed):
            query = f"page={page + 1}"
            if modified_since:
                query += "&modified_since=" + modified_since.replace("+", "%2B")
            links["next"] = f"{API}/body/1/paper?{query}"
        pagination = {"totalElements": len(listed), "currentPage": page}
        return obj(request, {"data": data, "pagination": pagination, "links": links})

    @app.get(f"{API}/paper/{{number}}")
    async def paper(request: Request, number: int) -> Response:
        found = state.papers.get(f"{API}/paper/{number}")
        return obj(request, _paper_view(found)) if found else _not_found()

    @app.get(f"{API}/file/{{number}}")
    async def file(request: Request, number: int) -> Response:
        found = state.files.get(f"{API}/file/{number}")
        return obj(request, found) if found else _not_found()

    @app.get(f"{API}/file/{{number}}/download")
    async def download(number: int) -> Response:
        found = state.contents.get(f"{API}/file/{number}")
        if found is None:
            return _not_found()
        return Response(found[0], media_type=found[1])

    @app.get(f"{API}/{{kind}}/{{number}}")
    async def other(request: Request, kind: str, number: int) -> Response:
        found = state.objects.get(f"{API}/{kind}/{number}")
        return obj(request, found) if found else _not_found()

    @app.post("/_fail")
    async def fail(fault: dict[str, Any]) -> dict[str, bool]:
        state.fail(
            fault["match"],
            fault.get("times", 1),
            fault.get("status", 500),
            fault.get("retry_after"),
        )
        return {"ok": True}

    @app.get("/_requests")
    async def requests() -> list[dict[str, str]]:
        return [
            {"path": r.path, "query": r.query, "user_agent": r.user_agent} for r in state.requests
        ]

    return app


def _body() -> dict[str, Any]:
    return {
        "id": f"{API}/body/1",
        "type": f"{SCHEMA}/Body",
        "name": "Stadt Beispielstadt",
        "paper": f"{API}/body/1/paper",
        "organization": f"{API}/body/1/organization",
        "meeting": f"{API}/body/1/meeting",
        "modified": _LONG_AGO,
    }


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "not found"}, 404)


@dataclass
class RunningOParl:
    """A fake OParl server running in a thread of this process."""

    url: str
    state: OParlFakeState

    @property
    def system_url(self) -> str:
        """The System endpoint."""
        return f"{self.url}{API}/system"

    @property
    def body_url(self) -> str:
        """The Body endpoint."""
        return f"{self.url}{API}/body/1"


@contextmanager
def serve(state: OParlFakeState | None = None) -> Iterator[RunningOParl]:
    """Run the fake on a free loopback port until the block ends."""
    state = state or demo_state()
    with uvicorn_in_thread(create_app(state)) as url:
        yield RunningOParl(url, state)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    uvicorn.run(create_app(demo_state()), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
