"""``schaengel serve`` as a real subprocess on the sample index, asked over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from chatbot.container import Container
from tests.conftest import free_port


def test_serve_answers_a_question_with_citations(sample_container: Container) -> None:
    port = free_port()
    executable = Path(sys.executable).parent / "schaengel"
    env = {
        **os.environ,
        "SCHAENGEL_DATA_DIR": str(sample_container.settings.data_dir),
        "SCHAENGEL_RATE_LIMIT_PER_MINUTE": "0",
    }
    process = subprocess.Popen(
        [str(executable), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"serve exited: {process.stderr.read()[-2000:]}"  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.5)
        response = httpx.post(
            f"{base}/api/v1/ask",
            json={"question": "Welche Maßnahmen enthält das Radverkehrskonzept 2020?"},
            timeout=60,
        )
        assert response.status_code == 200
        body = response.json()
        assert not body["refused"]
        assert "23 Maßnahmen" in body["answer"]
        assert f"[{body['sources'][0]['n']}]" in body["answer"]
        assert any(s["reference"] == "BV/0117/2020" for s in body["sources"])
        assert response.headers["x-request-id"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    logs = process.stderr.read() if process.stderr else ""  # type: ignore[union-attr]
    assert "127.0.0.1:" not in logs.replace(f"127.0.0.1:{port}", ""), "client addresses logged"
