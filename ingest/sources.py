"""Documents to ingest, from any source: files on disk here, OParl in ``ingest.oparl``."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbot.domain import VISIBILITIES, RawDocument, Visibility
from chatbot.errors import DocumentLoadError
from ingest.loaders.base import load_file, supported_suffixes

SIDECAR_SUFFIX = ".meta.json"
_OVERRIDABLE = {
    "title",
    "doc_type",
    "type_code",
    "reference",
    "references",
    "date",
    "office",
    "url",
}


@dataclass
class SourceDocument:
    """One document to ingest: a stable id, a fingerprint of its content, and a deferred load.

    ``fingerprint`` changes whenever anything that affects the stored chunks changes, so that
    an unchanged document is recognised without reading or embedding it again.
    """

    document_id: str
    source: str
    fingerprint: str
    load: Callable[[], RawDocument]
    visibility: Visibility = "public"
    source_root: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiscoveryFailure:
    """A file that cannot even be considered (unreadable sidecar, unknown type)."""

    path: str
    reason: str


def document_id_for(key: str, label: str) -> str:
    """A stable, readable id: a slug of ``label`` plus a short hash of the unique ``key``."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_label.lower()).strip("-")[:40] or "dokument"
    return f"{slug}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def most_restrictive(*visibilities: str | None) -> Visibility:
    """Internal wins over public: a sidecar can restrict a file but never open it up."""
    given = [v for v in visibilities if v]
    for value in given:
        if value not in VISIBILITIES:
            raise DocumentLoadError(f"unknown visibility {value!r} (public or internal)")
    return "internal" if "internal" in given else "public"


def discover_files(
    paths: Sequence[Path], visibility: Visibility
) -> tuple[list[SourceDocument], list[DiscoveryFailure]]:
    """All supported files under ``paths`` (recursively), sorted, with their sidecars read."""
    suffixes = set(supported_suffixes())
    documents: list[SourceDocument] = []
    failures: list[DiscoveryFailure] = []
    for root in paths:
        root = root.resolve()
        if not root.exists():
            failures.append(DiscoveryFailure(str(root), "path does not exist"))
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if path.name.endswith(SIDECAR_SUFFIX) or path.name.startswith("."):
                continue
            if path.suffix.lower() not in suffixes:
                failures.append(
                    DiscoveryFailure(str(path), f"unsupported file type {path.suffix or '(none)'}")
                )
                continue
            try:
                documents.append(_file_document(path, root, visibility))
            except DocumentLoadError as exc:
                failures.append(DiscoveryFailure(str(path), str(exc)))
    return documents, failures


def _file_document(path: Path, root: Path, visibility: Visibility) -> SourceDocument:
    sidecar = _read_sidecar(path)
    data = _read_bytes(path)
    effective = most_restrictive(visibility, sidecar.get("visibility"))
    digest = hashlib.sha256(data)
    digest.update(json.dumps(sidecar, sort_keys=True).encode())
    digest.update(effective.encode())
    return SourceDocument(
        document_id=document_id_for(str(path), path.stem),
        source=str(path),
        fingerprint=digest.hexdigest(),
        load=lambda: load_file(path),
        visibility=effective,
        source_root=str(root if root.is_dir() else root.parent),
        overrides={k: v for k, v in sidecar.items() if k in _OVERRIDABLE},
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentLoadError(f"cannot read file: {exc.strerror or exc}") from None


def _read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DocumentLoadError(f"unreadable sidecar {sidecar.name}: {exc}") from None
    if not isinstance(data, dict):
        raise DocumentLoadError(f"sidecar {sidecar.name} must hold a JSON object")
    return data
