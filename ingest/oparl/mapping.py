"""OParl 1.1 objects → our document metadata: only what the server states, nothing guessed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

from chatbot.errors import OParlError
from chatbot.references import DOC_TYPES
from ingest.loaders.base import supported_suffixes

Lookup = Callable[[str], dict[str, Any]]
"""Fetches (and caches) an OParl object by URL; raises OParlError."""

# Paper types named by a word that is not a DOC_TYPES name ("Beantwortung einer Anfrage").
_SYNONYMS = {"beantwortung": "AW", "mitteilung": "MV", "protokoll": "NI"}
_MIME_SUFFIXES = {
    "application/pdf": ".pdf",
    "application/x-pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
}
_RELATED = ("relatedPaper", "superordinatedPaper", "subordinatedPaper")
FINGERPRINT_VERSION = "oparl-1"


@dataclass
class Problem:
    """Something the server did not deliver (a referenced object, a file)."""

    url: str
    reason: str
    transient: bool = False


@dataclass
class PaperFields:
    """The metadata of one Paper, shared by all its files."""

    paper_id: str
    name: str = ""
    reference: str = ""
    doc_type: str = ""
    type_code: str = ""
    date: str = ""
    office: str = ""
    url: str = ""
    references: list[str] = field(default_factory=list)
    committees: list[dict[str, Any]] = field(default_factory=list)
    originators: list[str] = field(default_factory=list)


@dataclass
class FileRef:
    """One File of a Paper with the overrides and fingerprint its document is ingested with."""

    file_id: str
    file: dict[str, Any]
    auxiliary: bool
    overrides: dict[str, Any]
    loader_name: str | None
    content_key: str | None

    def fingerprint(self, visibility: str, content_key: str | None = None) -> str | None:
        """What decides "unchanged" before any download; None when only the bytes can tell."""
        key = content_key or self.content_key
        if key is None:
            return None
        payload = {
            "v": FINGERPRINT_VERSION,
            "content": key,
            "loader": self.loader_name,
            "visibility": visibility,
            "metadata": self.overrides,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def paper_fields(paper: dict[str, Any], lookup: Lookup, problems: list[Problem]) -> PaperFields:
    """The metadata a Paper states; referenced objects are fetched through ``lookup``."""
    doc_type, type_code = doc_type_for(_text(paper.get("paperType")))
    reference = _text(paper.get("reference"))
    fields = PaperFields(
        paper_id=_text(paper.get("id")),
        name=_text(paper.get("name")),
        reference=reference,
        doc_type=doc_type,
        type_code=type_code,
        date=iso_date(paper.get("date")),
        office=", ".join(_names(paper.get("underDirectionOf"), lookup, problems)),
        url=_text(paper.get("web")),
        committees=consultation_chain(paper, lookup, problems),
        originators=_names(paper.get("originatorOrganization"), lookup, problems)
        + _names(paper.get("originatorPerson"), lookup, problems),
    )
    for key in _RELATED:
        for related in _resolve_all(paper.get(key), lookup, problems):
            ref = _text(related.get("reference"))
            if ref and ref != reference and ref not in fields.references:
                fields.references.append(ref)
    return fields


def consultation_chain(
    paper: dict[str, Any], lookup: Lookup, problems: list[Problem]
) -> list[dict[str, Any]]:
    """The Beratungsfolge: one entry per consulting committee, in the server's order."""
    chain: list[dict[str, Any]] = []
    for consultation in _resolve_all(paper.get("consultation"), lookup, problems):
        meeting = _resolve(consultation.get("meeting"), lookup, problems)
        organizations = consultation.get("organization") or (meeting or {}).get("organization")
        when = iso_date((meeting or {}).get("start")) or None
        for name in _names(organizations, lookup, problems):
            entry: dict[str, Any] = {"committee": name, "date": when}
            if consultation.get("role"):
                entry["role"] = _text(consultation.get("role"))
            if isinstance(consultation.get("authoritative"), bool):
                entry["authoritative"] = consultation["authoritative"]
            chain.append(entry)
    return chain


def paper_files(
    paper: dict[str, Any], fields: PaperFields, lookup: Lookup, problems: list[Problem]
) -> list[FileRef]:
    """The main and auxiliary Files of a Paper that still exist, each with its overrides."""
    refs: list[FileRef] = []
    candidates = [(paper.get("mainFile"), False)] + [
        (item, True) for item in _as_list(paper.get("auxiliaryFile"))
    ]
    seen: set[str] = set()
    for item, auxiliary in candidates:
        file = _resolve(item, lookup, problems)
        if not file or file.get("deleted"):
            continue
        file_id = _text(file.get("id")) or _text(file.get("accessUrl"))
        if not file_id or file_id in seen:
            continue
        seen.add(file_id)
        refs.append(
            FileRef(
                file_id=file_id,
                file=file,
                auxiliary=auxiliary,
                overrides=file_overrides(fields, file, file_id=file_id, auxiliary=auxiliary),
                loader_name=loader_name(file),
                content_key=content_key(file),
            )
        )
    return refs


def file_overrides(
    fields: PaperFields, file: dict[str, Any], *, file_id: str, auxiliary: bool
) -> dict[str, Any]:
    """SourceDocument overrides; ``originators`` and ``oparl_*`` are kept for later use."""
    title = fields.name
    file_name = _text(file.get("name")) or PurePosixPath(_text(file.get("fileName"))).stem
    if auxiliary and file_name:
        title = f"{title} – {file_name}" if title else file_name
    elif not title:
        title = file_name
    return {
        "title": title,
        "doc_type": fields.doc_type,
        "type_code": fields.type_code,
        "reference": fields.reference,
        "references": list(fields.references),
        "date": fields.date,
        "office": fields.office,
        "url": fields.url or _text(file.get("web")),
        "committees": [dict(c) for c in fields.committees],
        "originators": list(fields.originators),
        "oparl_paper": fields.paper_id,
        "oparl_file": file_id,
        "oparl_role": "auxiliaryFile" if auxiliary else "mainFile",
    }


def doc_type_for(paper_type: str) -> tuple[str, str]:
    """(doc_type, type code) for a paperType: our names where one fits, else the server's."""
    text = " ".join(paper_type.split())
    if not text:
        return "", ""
    if text.upper() in DOC_TYPES:
        return DOC_TYPES[text.upper()], text.upper()
    lower = text.lower()
    # The earliest (then longest) type word wins: "Beantwortung einer Anfrage" is an answer.
    matches = [(lower.find(w), -len(w), code) for w, code in _type_words() if w in lower]
    if not matches:
        return text, ""
    code = min(matches)[2]
    return DOC_TYPES[code], code


def _type_words() -> list[tuple[str, str]]:
    words: dict[str, str] = {}
    for code, name in DOC_TYPES.items():
        words.setdefault(name.lower(), code)  # "Antrag" is AT, not the alias AN
    return [*words.items(), *_SYNONYMS.items()]


def content_key(file: dict[str, Any]) -> str | None:
    """What identifies the content without downloading it: text, checksum or modification time."""
    text = file.get("text")
    if isinstance(text, str) and text.strip():
        return "text:" + hashlib.sha256(text.encode()).hexdigest()
    for name in ("sha512Checksum", "sha1Checksum"):
        value = _text(file.get(name))
        if value:
            return f"{name}:{value.lower()}"
    modified = _text(file.get("modified"))
    if modified:
        where = _text(file.get("downloadUrl")) or _text(file.get("accessUrl"))
        return f"modified:{modified}|{file.get('size', '')}|{where}"
    return None


def loader_name(file: dict[str, Any]) -> str | None:
    """A file name whose suffix picks our loader: fileName, else mimeType, else the URL."""
    known = set(supported_suffixes())
    file_name = _text(file.get("fileName"))
    if PurePosixPath(file_name).suffix.lower() in known:
        return file_name
    mime = _text(file.get("mimeType")).split(";")[0].strip().lower()
    if mime in _MIME_SUFFIXES:
        return f"file{_MIME_SUFFIXES[mime]}"
    for key in ("downloadUrl", "accessUrl"):
        suffix = PurePosixPath(urlparse(_text(file.get(key))).path).suffix.lower()
        if suffix in known:
            return f"file{suffix}"
    return None


def iso_date(value: Any) -> str:
    """ "2024-01-31" from an OParl date or date-time, "" when absent or invalid."""
    text = _text(value)
    try:
        return date.fromisoformat(text[:10]).isoformat() if text else ""
    except ValueError:
        return ""


def object_name(obj: dict[str, Any]) -> str:
    """The display name of an Organization or Person."""
    name = _text(obj.get("name")) or _text(obj.get("shortName"))
    if not name:
        name = " ".join(_text(obj.get(k)) for k in ("givenName", "familyName") if obj.get(k))
    return name


# --- helpers ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _resolve(item: Any, lookup: Lookup, problems: list[Problem]) -> dict[str, Any] | None:
    """An inline object as is; a URL fetched; None (with a Problem) when it cannot be had."""
    if isinstance(item, dict):
        return item
    if not isinstance(item, str) or not item:
        return None
    try:
        return lookup(item)
    except OParlError as exc:
        problems.append(Problem(exc.url, exc.reason, exc.transient))
        return None


def _resolve_all(value: Any, lookup: Lookup, problems: list[Problem]) -> list[dict[str, Any]]:
    resolved = (_resolve(item, lookup, problems) for item in _as_list(value))
    return [obj for obj in resolved if obj and not obj.get("deleted")]


def _names(value: Any, lookup: Lookup, problems: list[Problem]) -> list[str]:
    names: list[str] = []
    for obj in _resolve_all(value, lookup, problems):
        name = object_name(obj)
        if name and name not in names:
            names.append(name)
    return names
