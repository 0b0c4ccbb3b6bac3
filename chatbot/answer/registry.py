"""Answer backends registered by name; built-ins register the same way a plugin would."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points

from chatbot.answer.base import AnswerBackend
from chatbot.errors import ConfigurationError
from chatbot.settings import Settings

BackendFactory = Callable[[Settings], AnswerBackend]

_FACTORIES: dict[str, BackendFactory] = {}
_BUILTIN_MODULES = ("extractive", "openai", "aleph_alpha", "local")
ENTRY_POINT_GROUP = "schaengel.answer_backends"


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a factory that builds the backend called ``name`` from the settings."""

    def decorate(factory: BackendFactory) -> BackendFactory:
        _FACTORIES[name] = factory
        return factory

    return decorate


def known_backends() -> list[str]:
    """Names of all registered backends (built-in and installed plugins)."""
    _load_all()
    return sorted(_FACTORIES)


def create_backend(settings: Settings) -> AnswerBackend:
    """Build the configured backend, or fail with the list of known names."""
    _load_all()
    name = settings.answer_backend
    if name not in _FACTORIES:
        known = ", ".join(sorted(_FACTORIES))
        raise ConfigurationError(f"unknown answer backend {name!r}; known backends: {known}")
    return _FACTORIES[name](settings)


def _load_all() -> None:
    # Backend modules import their heavy dependencies lazily, so importing them is cheap.
    for module in _BUILTIN_MODULES:
        importlib.import_module(f"chatbot.answer.{module}")
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
