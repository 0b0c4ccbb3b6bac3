"""Fixtures of the scale-out and fault tests: real ``schaengel serve``, ``schaengel ingest``,
``chroma run`` and fake model server processes on loopback, each bounded in time.

Every process writes its output to a file in the test's tmp_path (a pipe could fill up and
block it); tests read the file to check what a process logged. Waiting is always polling with
a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.conftest import REPO, free_port, wait_for_port

BIN = Path(sys.executable).parent
SCHAENGEL = BIN / "schaengel"
T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, message: str, interval: float = 0.1) -> T:
    """Call ``check`` until it returns something truthy; fail with ``message`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (after {timeout:g} s)")
        time.sleep(interval)


def council_document(reference: str, day: str, title: str, paragraphs: list[str]) -> str:
    """A plain-text RIS export: header block, Betreff, Beschlussempfehlung/Begründung."""
    kind = {"BV": "Beschlussvorlage", "UV": "Unterrichtungsvorlage"}[reference[:2]]
    body = "\n\n".join(paragraphs)
    return (
        f"{kind}\nVorlage: {reference}  Datum: {day}\nVerfasser: 60-Bauverwaltung\n"
        f"Betreff:\n{title}\n\nGremienweg:\n{day} Stadtrat\n\nBegründung:\n{body}\n"
    )


def write_base_corpus(folder: Path) -> Path:
    """A few small documents: enough for answers, fast to ingest with the hashing embedder."""
    folder.mkdir(parents=True, exist_ok=True)
    topics = {
        "BV/0301/2024": ("Sanierung der Stadtbrücke", "Die Sanierung der Stadtbrücke kostet"),
        "BV/0302/2024": ("Neubau der Stadtbücherei", "Der Neubau der Stadtbücherei kostet"),
        "UV/0303/2024": ("Sachstand Spielplätze", "Die Erneuerung der Spielplätze kostet"),
    }
    for n, (reference, (title, sentence)) in enumerate(topics.items()):
        paragraphs = [
            f"{sentence} nach der Kostenschätzung {n + 2},5 Mio. Euro.",
            f"Die Arbeiten zu {title} beginnen im Frühjahr und dauern zwei Jahre.",
        ]
        name = reference.replace("/", "-") + ".txt"
        (folder / name).write_text(
            council_document(reference, "12.03.2024", title, paragraphs), encoding="utf-8"
        )
    return folder


def base_env(data_dir: Path, **settings: str | float | int) -> dict[str, str]:
    """The environment of a Schängel process: offline, hashing embedder, no rate limit."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
        "SCHAENGEL_DATA_DIR": str(data_dir),
        "SCHAENGEL_EMBEDDING_MODEL": "hashing:256",
        "SCHAENGEL_RATE_LIMIT_PER_MINUTE": "0",
        "SCHAENGEL_LEXICAL_REFRESH_SECONDS": "0.2",
    }
    env.pop("SCHAENGEL_CONFIG_FILE", None)
    env.update({f"SCHAENGEL_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def server_env(
    data_dir: Path, chroma: dict[str, Any], **settings: str | float | int
) -> dict[str, str]:
    """``base_env`` for a Chroma server, with a collection of its own."""
    return base_env(
        data_dir,
        chroma_host=chroma["host"],
        chroma_port=chroma["port"],
        collection=f"t-{uuid.uuid4().hex[:12]}",
        **settings,
    )


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``schaengel ARGS`` to completion (bounded)."""
    return subprocess.run(
        [str(SCHAENGEL), *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ingest(corpus: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    """``schaengel ingest CORPUS --json`` as its own process; fails the test if it fails."""
    result = run_cli(["ingest", str(corpus), "--json", *extra], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def stop_process(process: subprocess.Popen[Any], grace: float = 20) -> None:
    """SIGTERM, wait, then SIGKILL the process group this test started."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # uvicorn's worker processes share the group of the process this test started
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@dataclass
class ServeProcess:
    """A running ``schaengel serve`` with its log file."""

    process: subprocess.Popen[Any]
    url: str
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def logs(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ask(self, question: str, timeout: float = 30, **headers: str) -> httpx.Response:
        """POST /api/v1/ask on a fresh connection (so that uvicorn may pick any worker)."""
        return httpx.post(
            f"{self.url}/api/v1/ask", json={"question": question}, headers=headers, timeout=timeout
        )


def start_serve(
    env: dict[str, str], log_path: Path, workers: int = 1, ready_timeout: float = 90
) -> ServeProcess:
    """Start ``schaengel serve`` on a free loopback port and wait until /readyz says 200."""
    port = free_port()
    log = log_path.open("ab")
    command = [str(SCHAENGEL), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    server = ServeProcess(process, f"http://127.0.0.1:{port}", log_path, env)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}: {server.logs()[-3000:]}")
        try:
            return httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(ready, ready_timeout, "schaengel serve did not become ready", interval=0.2)
    except BaseException:
        stop_process(process)
        raise
    return server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Start ``schaengel serve`` processes; all are stopped when the test ends."""
    started: list[ServeProcess] = []

    def start(env: dict[str, str], workers: int = 1) -> ServeProcess:
        server = start_serve(env, tmp_path / f"serve-{len(started)}.log", workers)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_process(server.process)


class ChromaProcess:
    """A ``chroma run`` server this test owns: it may kill and restart it (same port, path)."""

    def __init__(self, path: Path, log_path: Path) -> None:
        chroma = shutil.which("chroma", path=str(BIN)) or shutil.which("chroma")
        assert chroma is not None, "the chroma CLI is not installed"
        self.command = [chroma, "run", "--path", str(path), "--host", "127.0.0.1"]
        self.path = path
        self.log_path = log_path
        self.host = "127.0.0.1"
        self.port = free_port()
        self.process: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.port, timeout=60, process=self.process)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=20)

    def stop(self) -> None:
        """Stop it if it runs."""
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process)

    @property
    def address(self) -> dict[str, Any]:
        """Host and port, as the ``chroma_server`` fixture gives them."""
        return {"host": self.host, "port": self.port}


@pytest.fixture
def own_chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    """A ``chroma run`` on a free port that this test alone uses (and may kill)."""
    chroma = ChromaProcess(tmp_path / "chroma", tmp_path / "chroma.log")
    chroma.start()
    yield chroma
    chroma.stop()
