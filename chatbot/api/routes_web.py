"""The citizen widget, its demo host page, the staff console and the document reading page.

Static files come from the ``chatbot/web`` package folder through a fixed list (no directory
serving). The document page is rendered on the server with every value HTML-escaped.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib.resources import files
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from chatbot.api.deps import State
from chatbot.api.schemas import safe_url
from chatbot.errors import NotFoundError

router = APIRouter(include_in_schema=False)

_ASSETS = {
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8", True),
    "/widget.css": ("widget.css", "text/css; charset=utf-8", True),
    "/static/site.css": ("site.css", "text/css; charset=utf-8", False),
    "/static/staff.js": ("staff.js", "text/javascript; charset=utf-8", False),
    "/static/staff.css": ("staff.css", "text/css; charset=utf-8", False),
}


@lru_cache(maxsize=32)
def web_file(name: str) -> bytes:
    """A file of the packaged web folder."""
    return (files("chatbot") / "web" / name).read_bytes()


def _asset(path: str) -> Response:
    name, media_type, cross_origin = _ASSETS[path]
    headers = {"Cache-Control": "public, max-age=300"}
    if cross_origin:
        # Embedded on the city's own site: the browser may load it from another origin.
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return Response(web_file(name), media_type=media_type, headers=headers)


def _register_assets() -> None:
    for path in _ASSETS:

        async def asset(path: str = path) -> Response:
            return _asset(path)

        router.add_api_route(path, asset, methods=["GET"], name=f"asset:{path}")


_register_assets()


def _page(name: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        web_file(name).decode(), status_code=status, headers={"Cache-Control": "no-cache"}
    )


@router.get("/")
async def demo_page() -> HTMLResponse:
    """A fictitious municipal page that embeds the widget with a single script tag."""
    return _page("index.html")


@router.get("/staff")
async def staff_console() -> HTMLResponse:
    """The staff console (static HTML + JS; the key stays in sessionStorage)."""
    return _page("staff.html")


@router.get("/dokumente/{document_id}")
async def document_page(document_id: str, request: Request, state: State) -> HTMLResponse:
    """A public document, readable without JavaScript; 404 page for anything else."""
    template = Template(web_file("document.html").decode())
    try:
        # A browser navigating here sends no key: the page is for the public audience only.
        row = await run_in_threadpool(state.documents.get_document, document_id, "public")
    except NotFoundError:
        return HTMLResponse(
            template.substitute(
                title="Dokument nicht gefunden",
                meta="",
                body="<p>Dieses Dokument gibt es nicht oder es ist nicht öffentlich.</p>",
            ),
            status_code=404,
        )
    esc = html.escape
    facts = [
        ("Aktenzeichen", row["reference"]),
        ("Art", row["type"]),
        ("Datum", row["date"]),
        ("Verfasser", row["office"]),
        ("Gremien", ", ".join(c["committee"] for c in row["committees"])),
    ]
    meta = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts if v)
    url = safe_url(row["url"])
    if url:
        meta += f'<dt>Im Ratsinformationssystem</dt><dd><a href="{esc(url)}">{esc(url)}</a></dd>'
    paragraphs = "".join(f"<p>{esc(line)}</p>" for line in row["text"].split("\n") if line.strip())
    return HTMLResponse(
        template.substitute(
            title=esc(row["title"] or row["reference"] or "Dokument"),
            meta=f"<dl>{meta}</dl>",
            body=paragraphs,
        ),
        headers={"Cache-Control": "no-cache"},
    )
