"""The loader interface and the registry of loaders by file suffix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chatbot.domain import RawDocument
from chatbot.errors import DocumentLoadError

Loader = Callable[[bytes, str], RawDocument]
"""A loader reads a file's bytes (``source`` names it) and returns its text page by page.

It raises ``DocumentLoadError`` with a short English reason when the file cannot be read."""

_LOADERS: dict[str, Loader] = {}


def register_loader(*suffixes: str) -> Callable[[Loader], Loader]:
    """Register a loader for file suffixes such as ``.pdf``; built-ins register the same way."""

    def decorate(loader: Loader) -> Loader:
        for suffix in suffixes:
            _LOADERS[suffix.lower()] = loader
        return loader

    return decorate


def loader_for(name: str) -> Loader:
    """The loader for a file name, or DocumentLoadError naming the supported types."""
    _import_builtin_loaders()
    suffix = Path(name).suffix.lower()
    if suffix not in _LOADERS:
        known = ", ".join(sorted(_LOADERS))
        raise DocumentLoadError(f"unsupported file type {suffix or '(none)'}; supported: {known}")
    return _LOADERS[suffix]


def supported_suffixes() -> list[str]:
    """All registered file suffixes."""
    _import_builtin_loaders()
    return sorted(_LOADERS)


def load_file(path: Path) -> RawDocument:
    """Read one file with the loader registered for its suffix."""
    loader = loader_for(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentLoadError(f"cannot read file: {exc.strerror or exc}") from None
    if not data.strip():
        raise DocumentLoadError("empty file")
    return loader(data, str(path))


def _import_builtin_loaders() -> None:
    # Imported lazily so that heavy parsers load only when a file of their kind is read.
    from ingest.loaders import docx, html, pdf, text  # noqa: F401
