"""Faults of a deployed Schängel, each with real processes: the Chroma server dies, the answer
model times out or fails, the disk fills up during an ingest, an ingest runs while citizens
ask, and one client floods the API."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatbot.container import Container
from chatbot.documents import DocumentService
from chatbot.service import AskService
from chatbot.settings import Settings
from tests.conftest import REPO, free_port
from tests.scale.conftest import (
    ChromaProcess,
    ServeProcess,
    base_env,
    council_document,
    ingest,
    poll,
    server_env,
    stop_process,
    write_base_corpus,
)

pytestmark = pytest.mark.slow

BRIDGE = "Wie viel kostet die Sanierung der Stadtbrücke?"
STORE_DOWN_DE = "Die Dokumentensuche ist gerade nicht erreichbar"


def _is_error_without_trace(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert message and "Bitte versuchen Sie es" in message  # German, for citizens
    for leak in ("Traceback", "Exception", "Error", "chroma", "127.0.0.1"):
        assert leak not in response.text


def _answers(response: httpx.Response) -> bool:
    return response.status_code == 200 and not response.json()["refused"]


@pytest.fixture(scope="module")
def embedded_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the small base corpus, ingested by ``schaengel ingest`` (embedded)."""
    root = tmp_path_factory.mktemp("embedded-index")
    ingest(write_base_corpus(root / "corpus"), base_env(root / "data"))
    return root / "data"


# --- the Chroma server dies and comes back ------------------------------------------------
class _Asker:
    """Asks the same question over and over from a thread, recording every response."""

    def __init__(self, server: ServeProcess) -> None:
        self.server = server
        self.responses: list[httpx.Response] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.responses.append(self.server.ask(BRIDGE))

    def __enter__(self) -> _Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def test_chroma_killed_during_queries_gives_503_and_the_same_app_recovers(
    tmp_path: Path, own_chroma: ChromaProcess, serve: Callable[..., ServeProcess]
) -> None:
    env = server_env(tmp_path / "data", own_chroma.address)
    ingest(write_base_corpus(tmp_path / "corpus"), env)
    server = serve(env, workers=2)
    assert _answers(server.ask(BRIDGE))

    with _Asker(server) as asker:
        poll(lambda: len(asker.responses) >= 5, 30, "no answers before the kill")
        own_chroma.kill()
        killed_at = len(asker.responses)
        poll(
            lambda: sum(r.status_code == 503 for r in asker.responses[killed_at:]) >= 5,
            30,
            "the API did not answer 503 while Chroma was down",
        )
    for response in asker.responses:  # before, during and after the kill: never a 500
        if response.status_code != 200:
            _is_error_without_trace(response, 503, "store_unavailable")
            assert STORE_DOWN_DE in response.json()["error"]["message"]
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] == "unavailable"
    assert STORE_DOWN_DE in ready.json()["reason"]

    own_chroma.start()  # same port, same path
    poll(lambda: _answers(server.ask(BRIDGE)), 60, "the app did not recover after the restart")
    for _ in range(3):  # every worker reconnected: parallel requests reach both
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: server.ask(BRIDGE), range(8)))
        assert all(_answers(r) for r in responses), [r.text for r in responses]
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
    assert server.process.poll() is None  # recovered without a restart
    assert "Traceback" not in server.logs()


# --- the answer model times out, rate-limits or fails ---------------------------------------
API_KEY = "sk-schaengel-7Qx9-geheim-Zz41"
MAX_RETRIES = 2


@pytest.fixture(scope="module")
def fake_openai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fake OpenAI-compatible server as its own process; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("fake-openai") / "fake.log"
    command = [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--token", API_KEY],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, log.read_text()
        try:
            return httpx.post(f"{url}/_reset", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        poll(up, 30, "the fake OpenAI server did not start")
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def openai_serve(
    embedded_index: Path, fake_openai: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeProcess]:
    """``schaengel serve`` answering through the fake with short timeouts and 2 retries."""
    from tests.scale.conftest import start_serve

    env = base_env(
        embedded_index,
        answer_backend="openai",
        openai_base_url=f"{fake_openai}/v1",
        openai_api_key=API_KEY,
        openai_model="fake-model",
        request_timeout_seconds=1,
        max_retries=MAX_RETRIES,
    )
    server = start_serve(env, tmp_path_factory.mktemp("openai-serve") / "serve.log")
    yield server
    stop_process(server.process)
    assert API_KEY not in server.logs(), "the API key was logged"


def _model_requests(fake: str) -> list[dict[str, Any]]:
    requests = httpx.get(f"{fake}/_requests", timeout=5).json()
    return [r for r in requests if r["path"].endswith("/chat/completions")]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"delay_next": 10, "delay_seconds": 4.0}, 504, "backend_timeout"),
        ({"fail_next": 10, "fail_status": 429, "retry_after": 0.1}, 503, "backend_unavailable"),
        ({"fail_next": 10, "fail_status": 500}, 503, "backend_unavailable"),
    ],
    ids=["timeout", "429", "500"],
)
def test_failing_answer_model_is_retried_a_bounded_number_of_times_then_503_or_504(
    openai_serve: ServeProcess, fake_openai: str, fault: dict[str, Any], status: int, code: str
) -> None:
    httpx.post(f"{fake_openai}/_reset", timeout=5)
    healthy = openai_serve.ask(BRIDGE)
    assert _answers(healthy), healthy.text
    assert len(_model_requests(fake_openai)) == 1
    assert _model_requests(fake_openai)[0]["headers"]["authorization"] == f"Bearer {API_KEY}"

    httpx.post(f"{fake_openai}/_reset", timeout=5)
    httpx.post(f"{fake_openai}/_control", json=fault, timeout=5)
    started = time.monotonic()
    failed = openai_serve.ask(BRIDGE, timeout=60)
    _is_error_without_trace(failed, status, code)
    assert "Sprachmodell" in failed.json()["error"]["message"]
    assert len(_model_requests(fake_openai)) == 1 + MAX_RETRIES  # bounded retries
    assert time.monotonic() - started < 20
    assert API_KEY not in failed.text

    httpx.post(f"{fake_openai}/_reset", timeout=5)
    assert _answers(openai_serve.ask(BRIDGE))  # the next question is answered again
    assert API_KEY not in openai_serve.logs()


# --- the disk fills up during an ingest -----------------------------------------------------
def _bridge_settings(env: dict[str, str]) -> Settings:
    return Settings(
        data_dir=Path(env["SCHAENGEL_DATA_DIR"]),
        embedding_model=env["SCHAENGEL_EMBEDDING_MODEL"],
        chroma_host=env["SCHAENGEL_CHROMA_HOST"],
        chroma_port=int(env["SCHAENGEL_CHROMA_PORT"]),
        collection=env["SCHAENGEL_COLLECTION"],
    )


def _versions(settings: Settings) -> dict[str, str]:
    """Reference → the price each document's full text states (never two)."""
    container = Container(settings)
    documents = DocumentService(container)
    found: dict[str, str] = {}
    for record in container.store.documents().values():
        text = documents.get_document(record.document_id, "public")["text"]
        prices = set(re.findall(r"\d+,\d Mio\. Euro", text))
        assert len(prices) == 1, (record.metadata.reference, prices)
        found[record.metadata.reference] = prices.pop()
    return found


PRICE_QUESTIONS = {
    "BV/0301/2024": BRIDGE,
    "BV/0302/2024": "Wie viel kostet der Neubau der Stadtbücherei?",
    "UV/0303/2024": "Wie viel kostet die Erneuerung der Spielplätze?",
}


def test_full_disk_during_ingest_fails_with_one_line_and_keeps_the_previous_index(
    tmp_path: Path, chroma_server: dict[str, Any], serve: Callable[..., ServeProcess]
) -> None:
    env = server_env(tmp_path / "data", chroma_server)
    corpus = write_base_corpus(tmp_path / "corpus")
    ingest(corpus, env)
    server = serve(env)
    settings = _bridge_settings(env)
    before = _versions(settings)
    assert before["BV/0301/2024"] == "2,5 Mio. Euro"
    for path in corpus.iterdir():  # every document changes its price
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"\d,5 Mio\.", "9,9 Mio.", text), encoding="utf-8")

    failed = subprocess.run(
        [sys.executable, "-m", "tests.scale.enospc_ingest", "2", "ingest", str(corpus)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    errors = [line for line in failed.stderr.splitlines() if "Fehler" in line]
    assert len(errors) == 1, failed.stderr
    assert errors[0].startswith("Fehler / error: "), errors[0]  # on a line of its own
    assert "writing the index failed" in errors[0] and "No space left on device" in errors[0]

    # One document was written completely before the disk filled; the others keep their old
    # version; none mixes two versions, and the old content still answers.
    after = _versions(settings)
    assert sorted(after.values()).count("9,9 Mio. Euro") == 1
    assert {ref for ref, price in after.items() if price != "9,9 Mio. Euro"} <= set(before)
    for reference, price in after.items():
        assert price in (before[reference], "9,9 Mio. Euro")
    answer = AskService(Container(settings)).ask(BRIDGE)
    assert not answer.refused
    assert after["BV/0301/2024"] in answer.text

    def api_agrees_with_store() -> bool:  # the running API shows what the store holds
        for reference, question in PRICE_QUESTIONS.items():
            response = server.ask(question)
            assert _answers(response), response.text
            if after[reference] not in response.json()["answer"]:
                return False
        return True

    poll(api_agrees_with_store, 20, "the API still shows a version the store replaced")

    # Space is back: the next run (at once, no stale lease in the way) completes the work.
    done = ingest(corpus, env)
    assert '"changed": 2' in done.stdout
    assert set(_versions(settings).values()) == {"9,9 Mio. Euro"}


# --- an ingest runs while citizens ask ------------------------------------------------------
TOPICS = [f"Projekt {name}" for name in ("Brücke", "Bücherei", "Radweg", "Friedhof")]
VERSION = re.compile(r"Fassung (\d)")


def _write_versioned_corpus(folder: Path, version: int, documents: int = 24) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(documents):
        topic = f"{TOPICS[n % len(TOPICS)]} {n}"
        paragraphs = [
            f"Fassung {version}: Für das {topic} betragen die Kosten in Abschnitt {p} "
            f"{n + p},{version} Mio. Euro."
            for p in range(10)
        ]
        reference = f"UV/{n + 1:04d}/2024"
        (folder / f"uv{n:02d}.txt").write_text(
            council_document(reference, "05.06.2024", f"Sachstand {topic}", paragraphs),
            encoding="utf-8",
        )
    return folder


def _one_version_per_document(response: httpx.Response) -> set[str]:
    """The versions an answer's sources show; fails when one document shows two."""
    assert response.status_code == 200, response.text
    by_document: dict[str, set[str]] = {}
    for source in response.json()["sources"]:
        by_document.setdefault(source["reference"], set()).update(
            VERSION.findall(source["snippet"])
        )
    for reference, versions in by_document.items():
        assert len(versions) <= 1, (reference, versions, response.text)
    return {v for versions in by_document.values() for v in versions}


def test_ingest_while_answering_never_mixes_versions_or_fails(
    tmp_path: Path, chroma_server: dict[str, Any], serve: Callable[..., ServeProcess]
) -> None:
    env = server_env(tmp_path / "data", chroma_server)
    corpus = _write_versioned_corpus(tmp_path / "corpus", 1)
    ingest(corpus, env)
    server = serve(env, workers=2)
    questions = [f"Wie hoch sind die Kosten für das {t} {n}?" for n, t in enumerate(TOPICS * 3)]

    _write_versioned_corpus(corpus, 2)
    responses: list[httpx.Response] = []
    ingest_log = tmp_path / "ingest.log"
    with ingest_log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "schaengel"), "ingest", str(corpus), "--json"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def client(offset: int) -> None:
        n = offset
        while process.poll() is None:
            responses.append(server.ask(questions[n % len(questions)]))
            n += 1

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(client, range(4)))
        assert process.wait(timeout=120) == 0, ingest_log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            stop_process(process)
    assert len(responses) >= 8, "too few questions overlapped the ingest"
    for response in responses:
        _one_version_per_document(response)  # 200, and one version per document

    def all_current() -> bool:
        with ThreadPoolExecutor(4) as pool:
            batch = list(pool.map(server.ask, questions[:8]))
        return all(_one_version_per_document(r) == {"2"} for r in batch)

    poll(all_current, 30, "the workers did not all move to the new version", 0.2)
    logs = server.logs() + ingest_log.read_text()
    assert "database is locked" not in logs
    assert "Traceback" not in logs


# --- one client floods the API --------------------------------------------------------------
def test_flooding_client_gets_429_while_another_client_is_served(
    embedded_index: Path, serve: Callable[..., ServeProcess]
) -> None:
    env = base_env(
        embedded_index,
        rate_limit_per_minute=1,  # no refill during the test: the counts are exact
        rate_limit_burst=3,
        trusted_proxies="127.0.0.1",
    )
    server = serve(env)
    flooder = {"X-Forwarded-For": "198.51.100.7"}
    neighbour = {"X-Forwarded-For": "203.0.113.5"}  # another network, another bucket

    def request(headers: dict[str, str]) -> httpx.Response:
        return server.ask(BRIDGE, **headers)

    with ThreadPoolExecutor(6) as pool:
        flood = pool.map(request, [flooder] * 20)
        others = pool.map(request, [neighbour] * 3)
        flood_responses, other_responses = list(flood), list(others)

    statuses = sorted(r.status_code for r in flood_responses)
    assert statuses == [200] * 3 + [429] * 17
    for response in flood_responses:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "rate_limited"
            assert "Zu viele Anfragen" in response.json()["error"]["message"]
            assert 1 <= int(response.headers["retry-after"]) <= 60
    assert all(_answers(r) for r in other_responses), [r.text for r in other_responses]
    assert request(flooder).status_code == 429  # still limited
