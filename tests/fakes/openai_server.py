"""A fake OpenAI-compatible server: ``/v1/chat/completions`` (JSON and SSE), ``/v1/models``.

Run standalone: ``python -m tests.fakes.openai_server --port 8081 --token secret``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from tests.fakes import (
    FakeState,
    RunningServer,
    add_common_routes,
    answer_for,
    paced,
    pieces,
    serve_in_thread,
    sse,
)


def error_body(status: int, message: str) -> dict[str, Any]:
    """The OpenAI error envelope."""
    kind = {401: "invalid_request_error", 429: "rate_limit_error"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _prompt(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
        parts.append(str(content))
    return "\n\n".join(parts)


def create_app(state: FakeState) -> FastAPI:
    """The fake server's app over ``state``."""
    app = FastAPI()
    add_common_routes(app, state, error_body)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": state.model, "object": "model", "created": 0, "owned_by": "fake"}],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
        answer = answer_for(_prompt(body.get("messages", [])))
        words = pieces(answer)
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        if limit:
            words = words[: int(limit)]
        created = int(time.time())
        base = {"id": "chatcmpl-fake", "created": created, "model": body.get("model", "")}
        if not body.get("stream"):
            return {
                **base,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(words)},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 1,
                    "completion_tokens": len(words),
                    "total_tokens": len(words) + 1,
                },
            }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return sse(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
            )

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk({"content": word}) for word in words]
        events += [chunk({}, "stop"), sse("[DONE]")]
        return StreamingResponse(
            paced(events, state.control.chunk_delay), media_type="text/event-stream"
        )

    return app


@contextmanager
def running(token: str = "test-token", model: str = "fake-model") -> Iterator[RunningServer]:
    """A fake OpenAI server in a thread; ``.url`` + ``/v1`` is the base URL."""
    state = FakeState(token=token, model=model)
    with serve_in_thread(create_app(state), state) as server:
        yield server


def main() -> None:
    """Run the fake as a process (for scale-out and fault tests)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--model", default="fake-model")
    args = parser.parse_args()
    app = create_app(FakeState(token=args.token, model=args.model))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
