"""OParl Files → RawDocument: the inline ``text``, else a download read by our loaders."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from chatbot.domain import PageText, RawDocument
from chatbot.errors import DocumentLoadError, OParlError
from ingest.loaders.base import loader_for
from ingest.oparl.client import OParlClient
from ingest.oparl.mapping import FileRef, Problem

log = logging.getLogger(__name__)


@dataclass
class Fetched:
    """A downloaded and parsed file, or why that failed.

    ``content_key`` is set for files without checksum or modification time: the hash of the
    bytes then stands in for them in the fingerprint.
    """

    raw: RawDocument | None = None
    content_key: str | None = None
    problem: Problem | None = None


def inline_text(file: dict[str, Any]) -> str:
    """The File's ``text`` (OParl's plain-text rendering), "" when absent or blank."""
    text = file.get("text")
    return text if isinstance(text, str) and text.strip() else ""


def text_document(ref: FileRef) -> RawDocument:
    """A File's inline text as a document without page numbers."""
    return RawDocument(source=ref.file_id, pages=[PageText(None, inline_text(ref.file))])


def fetch_file(client: OParlClient, ref: FileRef) -> Fetched:
    """Download a file (downloadUrl, else accessUrl) and read it with our loader."""
    urls = list(dict.fromkeys(_file_urls(ref.file)))
    if not urls:
        return Fetched(problem=Problem(ref.file_id, "File has no accessUrl or downloadUrl"))
    error: OParlError | None = None
    for url in urls:
        try:
            data = client.download(url)
        except OParlError as exc:
            error = exc
            continue
        try:
            if not data.strip():
                raise DocumentLoadError("empty file")
            if ref.loader_name is None:
                raise DocumentLoadError("unsupported file type")
            raw = loader_for(ref.loader_name)(data, ref.file_id)
        except DocumentLoadError as exc:
            return Fetched(problem=Problem(url, str(exc)))
        except Exception as exc:  # a loader bug on odd input must not end the sync
            log.exception("loader failed on %s", url)
            return Fetched(problem=Problem(url, f"unreadable: {type(exc).__name__}"))
        key = None if ref.content_key else "sha256:" + hashlib.sha256(data).hexdigest()
        return Fetched(raw=raw, content_key=key)
    assert error is not None
    return Fetched(problem=Problem(error.url, f"download failed: {error.reason}", error.transient))


def load_now(client: OParlClient, ref: FileRef) -> RawDocument:
    """Fetch a file while the pipeline loads it; failures become DocumentLoadError."""
    fetched = fetch_file(client, ref)
    if fetched.raw is None:
        problem = fetched.problem or Problem(ref.file_id, "no content")
        raise DocumentLoadError(f"{problem.url}: {problem.reason}")
    return fetched.raw


def _file_urls(file: dict[str, Any]) -> list[str]:
    return [u for u in (file.get("downloadUrl"), file.get("accessUrl")) if isinstance(u, str) and u]
