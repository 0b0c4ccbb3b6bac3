"""A fake Aleph Alpha API: ``/complete``, ``/chat/completions`` (JSON and streaming), ``/tokenize``.

Optionally served under a prefix (self-hosted PhariaAI inference often lives under ``/v1``).
Run standalone: ``python -m tests.fakes.aleph_alpha_server --port 8082 --token secret``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse

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

MODEL_VERSION = "fake-2026-01"


def error_body(status: int, message: str) -> dict[str, Any]:
    """The Aleph Alpha error envelope."""
    code = {401: "UNAUTHENTICATED", 429: "TOO_MANY_REQUESTS"}.get(status, "INTERNAL_ERROR")
    return {"error": message, "code": code}


def prompt_text(prompt: Any) -> str:
    """The text of a /complete prompt: a string or a list of prompt items."""
    if isinstance(prompt, str):
        return prompt
    return "".join(item.get("data", "") for item in prompt or [] if item.get("type") == "text")


def _limited(answer: str, maximum_tokens: Any) -> list[str]:
    words = pieces(answer)
    return words[: int(maximum_tokens)] if maximum_tokens else words


def create_app(state: FakeState, prefix: str = "") -> FastAPI:
    """The fake server's app over ``state``, its API under ``prefix``."""
    app = FastAPI()
    add_common_routes(app, state, error_body)
    api = APIRouter(prefix=prefix.rstrip("/"))

    @api.get("/version", response_class=PlainTextResponse)
    async def version() -> str:
        return "1.19.0"

    @api.post("/complete", response_model=None)
    async def complete(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
        words = _limited(answer_for(prompt_text(body.get("prompt"))), body.get("maximum_tokens"))
        if not body.get("stream"):
            return {
                "model_version": MODEL_VERSION,
                "completions": [{"completion": "".join(words), "finish_reason": "end_of_text"}],
                "num_tokens_prompt_total": 1,
                "num_tokens_generated": len(words),
            }
        events = [sse({"type": "stream_chunk", "index": 0, "completion": w}) for w in words]
        events += [
            sse(
                {
                    "type": "stream_summary",
                    "index": 0,
                    "model_version": MODEL_VERSION,
                    "finish_reason": "end_of_text",
                }
            ),
            sse(
                {
                    "type": "completion_summary",
                    "num_tokens_prompt_total": 1,
                    "num_tokens_generated": len(words),
                }
            ),
        ]
        return StreamingResponse(
            paced(events, state.control.chunk_delay), media_type="text/event-stream"
        )

    @api.post("/chat/completions", response_model=None)
    async def chat(body: dict[str, Any]) -> dict[str, Any] | StreamingResponse:
        prompt = "\n\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        words = _limited(answer_for(prompt), body.get("maximum_tokens"))
        base = {"id": "chat-fake", "created": 0, "model": body.get("model", "")}
        usage = {"prompt_tokens": 1, "completion_tokens": len(words), "total_tokens": len(words)}
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
                "usage": usage,
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
        events += [chunk({"content": w}) for w in words]
        events += [chunk({}, "stop"), sse("[DONE]")]
        return StreamingResponse(
            paced(events, state.control.chunk_delay), media_type="text/event-stream"
        )

    @api.post("/tokenize")
    async def tokenize(body: dict[str, Any]) -> dict[str, Any]:
        tokens = re.findall(r"\w+|[^\w\s]", str(body.get("prompt", "")))
        return {
            "tokens": tokens if body.get("tokens") else None,
            "token_ids": list(range(len(tokens))) if body.get("token_ids") else None,
        }

    app.include_router(api)
    return app


@contextmanager
def running(
    token: str = "test-token", model: str = "fake-model", prefix: str = ""
) -> Iterator[RunningServer]:
    """A fake Aleph Alpha API in a thread; ``.url`` + ``prefix`` is the host to configure."""
    state = FakeState(token=token, model=model)
    with serve_in_thread(create_app(state, prefix), state) as server:
        yield server


def main() -> None:
    """Run the fake as a process (for scale-out and fault tests)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", default="test-token")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--prefix", default="")
    args = parser.parse_args()
    app = create_app(FakeState(token=args.token, model=args.model), args.prefix)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
