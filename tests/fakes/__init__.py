"""Local fake model servers that speak the real wire formats (OpenAI, Aleph Alpha).

Each fake records the requests it receives and answers deterministically from the prompt:
the first sentence of passage [1] with its citation marker, or the refusal sentence when the
prompt has no passages. Faults are injected through ``FakeState.control`` in-process or the
``POST /_control`` endpoint (subprocess): fail the next N requests with a status, delay them.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

REFUSAL_DE = "Dazu habe ich in den vorliegenden Dokumenten keine Information gefunden."
_PASSAGE = re.compile(r'<passage nr="(\d+)">\n(.*?)\n</passage>', re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FOLLOW_UP = re.compile(r"^Folgefrage: (.+)$", re.MULTILINE)
_HISTORY_QUESTION = re.compile(r"^Frage: (.+)$", re.MULTILINE)


@dataclass
class Control:
    """Injected faults: the next ``fail_next`` requests fail, the next ``delay_next`` wait."""

    fail_next: int = 0
    fail_status: int = 500
    retry_after: float | None = None
    delay_next: int = 0
    delay_seconds: float = 0.0
    chunk_delay: float = 0.0


@dataclass
class RecordedRequest:
    """One request as the fake received it (header names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def authorization(self) -> str:
        """The Authorization header (empty when absent)."""
        return self.headers.get("authorization", "")


@dataclass
class FakeState:
    """What a fake server knows: expected token, model, faults, received requests."""

    token: str = "test-token"
    model: str = "fake-model"
    control: Control = field(default_factory=Control)
    requests: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Forget requests and faults."""
        with self._lock:
            self.requests.clear()
            self.control = Control()

    def requests_to(self, path_suffix: str) -> list[RecordedRequest]:
        """Recorded requests whose path ends with ``path_suffix``."""
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    def take_fault(self) -> tuple[float, int | None]:
        """The delay and failure status (if any) for the request now arriving."""
        with self._lock:
            delay = 0.0
            if self.control.delay_next:
                self.control.delay_next -= 1
                delay = self.control.delay_seconds
            status = None
            if self.control.fail_next:
                self.control.fail_next -= 1
                status = self.control.fail_status
            return delay, status


def answer_for(prompt: str) -> str:
    """The deterministic answer to a prompt: passage [1]'s first sentence, cited."""
    if "Eigenständige Frage" in prompt:
        follow_up = _FOLLOW_UP.search(prompt)
        earlier = _HISTORY_QUESTION.findall(prompt)
        question = follow_up.group(1).strip() if follow_up else ""
        topic = f" (zu: {earlier[-1].strip()})" if earlier else ""
        return f"Eigenständige Frage: {question}{topic}"
    passages = _PASSAGE.findall(prompt)
    if not passages:
        return REFUSAL_DE
    number, text = passages[0]
    sentence = _SENTENCE_END.split(" ".join(text.split()))[0]
    words = sentence.split()
    if len(words) > 30:
        sentence = " ".join(words[:30])
    return f"{sentence.rstrip('.')} [{number}]."


def pieces(text: str) -> list[str]:
    """The answer split into stream chunks (one word with its trailing space each)."""
    return re.findall(r"\S+\s*", text)


def sse(payload: Any) -> bytes:
    """One server-sent event line."""
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


async def paced(items: list[bytes], chunk_delay: float) -> AsyncIterator[bytes]:
    """Yield the events, waiting ``chunk_delay`` seconds before each."""
    for item in items:
        if chunk_delay:
            await asyncio.sleep(chunk_delay)
        yield item


ErrorBody = Callable[[int, str], dict[str, Any]]


def add_common_routes(app: FastAPI, state: FakeState, error_body: ErrorBody) -> None:
    """Recording, fault injection, bearer auth and the control endpoints."""

    @app.middleware("http")
    async def record_and_inject(request: Request, call_next: Any) -> Response:
        if request.url.path.startswith("/_"):
            return await call_next(request)
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with state._lock:
            state.requests.append(
                RecordedRequest(
                    request.method,
                    request.url.path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                )
            )
        delay, status = state.take_fault()
        if delay:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:  # the server shuts down while a test left us waiting
                return Response(status_code=503)
        if status is not None:
            headers = {}
            if state.control.retry_after is not None:
                headers["retry-after"] = f"{state.control.retry_after:g}"
                headers["retry-after-ms"] = str(int(state.control.retry_after * 1000))
            return JSONResponse(error_body(status, "injected failure"), status, headers=headers)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return JSONResponse(error_body(401, "invalid or missing bearer token"), 401)
        return await call_next(request)

    @app.post("/_control")
    async def control(changes: dict[str, Any]) -> dict[str, Any]:
        with state._lock:
            for key, value in changes.items():
                if hasattr(state.control, key):
                    setattr(state.control, key, value)
            return asdict(state.control)

    @app.post("/_reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.get("/_requests")
    async def requests() -> list[dict[str, Any]]:
        return [asdict(r) for r in state.requests]


def free_socket() -> socket.socket:
    """A listening-ready socket bound to a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class RunningServer:
    """A fake server running in a thread of this process."""

    url: str
    state: FakeState


@contextmanager
def uvicorn_in_thread(app: FastAPI, *, lifespan: str = "off") -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan=lifespan, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for requests a test left hanging
        thread.join(timeout=15)
        sock.close()


@contextmanager
def serve_in_thread(app: FastAPI, state: FakeState) -> Iterator[RunningServer]:
    """Run a fake's ``app`` on a free loopback port until the block ends."""
    with uvicorn_in_thread(app) as url:
        yield RunningServer(url, state)
