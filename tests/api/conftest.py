"""Fixtures of the HTTP tests: apps over the session's sample index, staff keys, fakes."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chatbot.answer.base import AnswerBackend, AnswerRequest
from chatbot.api.app import create_app
from chatbot.container import Container
from chatbot.errors import BackendTimeoutError
from chatbot.settings import Settings

STAFF_KEY = "lahnfeld-staff-key-4711-abcdef"
HASHED_STAFF_KEY = "second-staff-key-configured-as-hash"
MARKERS = ("Kennwort Eisvogel-7731", "Kennwort Kranich-4402", "Kennwort Feldlerche-2958")
INTERNAL_REFERENCES = ("BV/0131/2024", "BV/0051/2023", "UV/0077/2022")

ClientFactory = Callable[..., TestClient]


def staff_keys_setting() -> str:
    """One plain key and one configured as its SHA-256 digest."""
    digest = hashlib.sha256(HASHED_STAFF_KEY.encode()).hexdigest()
    return f"{STAFF_KEY}, sha256:{digest}"


def staff(key: str = STAFF_KEY) -> dict[str, str]:
    """The Authorization header of a staff member."""
    return {"Authorization": f"Bearer {key}"}


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """Server-Sent Events as (event, decoded JSON data) pairs."""
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        events.append((name, json.loads("\n".join(data)) if data else None))
    return events


def api_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of an API app in tests (the container brings its own index settings)."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "staff_keys": staff_keys_setting(),
        "rate_limit_per_minute": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_client(sample_container: Container, tmp_path: Path) -> Iterator[ClientFactory]:
    """Build TestClients over the sample index (or another container), lifespan included."""
    clients: list[TestClient] = []

    def make(container: Container | None = None, **overrides: Any) -> TestClient:
        app = create_app(api_settings(tmp_path / "api", **overrides), container or sample_container)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """A client of an app with default limits off and the test staff keys."""
    return make_client()


class SwappedBackendContainer(Container):
    """The sample container's index and models with another answer backend."""

    def __init__(self, base: Container, backend: AnswerBackend) -> None:
        super().__init__(base.settings)
        self.base = base
        self._backend = backend

    @cached_property
    def embeddings(self) -> Any:
        return self.base.embeddings

    @cached_property
    def store(self) -> Any:
        return self.base.store

    @cached_property
    def retriever(self) -> Any:
        return self.base.retriever

    @cached_property
    def backend(self) -> AnswerBackend:
        return self._backend


class SlowBackend(AnswerBackend):
    """Streams many tokens slowly and records whether its generator was closed early."""

    name = "slow-test"

    def __init__(self, tokens: int = 400, delay: float = 0.02) -> None:
        self.tokens = tokens
        self.delay = delay
        self.produced = 0
        self.closed = threading.Event()
        self.started = threading.Event()

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        self.started.set()
        try:
            for i in range(self.tokens):
                time.sleep(self.delay)
                self.produced += 1
                yield f"Wort{i} "
            yield "[1]"
        finally:
            self.closed.set()


class TimeoutBackend(AnswerBackend):
    """Always times out, as a remote model server that does not answer would."""

    name = "timeout-test"

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        raise BackendTimeoutError("the model server did not answer in time")
        yield ""  # pragma: no cover - makes this a generator


class StoreDownContainer(Container):
    """A container configured for a Chroma server on a port where nothing listens."""

    @classmethod
    def build(cls, tmp_path: Path) -> StoreDownContainer:
        from tests.conftest import free_port

        return cls(
            Settings(
                data_dir=tmp_path / "down",
                chroma_host="127.0.0.1",
                chroma_port=free_port(),
                embedding_model="hashing:64",
            )
        )
