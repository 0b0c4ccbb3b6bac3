"""Server-Sent Events: the wire format and the event sequence of a streamed answer."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from chatbot.api.answering import AnswerStream
from chatbot.api.errors import GENERIC_MESSAGE, status_for
from chatbot.api.schemas import SourcePublic
from chatbot.errors import SchaengelError

log = logging.getLogger("schaengel.api")

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def sse(event: str, data: Any) -> bytes:
    """One event; JSON data on a single line (JSON escapes newlines)."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def answer_events(stream: AnswerStream) -> AsyncIterator[bytes]:
    """``token`` … then ``sources`` then ``done``; ``error`` if the answer fails midway."""
    try:
        async for event in stream.events():
            if event.kind == "token":
                yield sse("token", {"text": event.text})
            elif event.answer is not None:
                answer = event.answer
                sources = [SourcePublic.from_citation(c).model_dump() for c in answer.citations]
                yield sse("sources", sources)
                yield sse(
                    "done",
                    {
                        "answer_id": stream.answer_id,
                        "answer": answer.text,
                        "refused": answer.refused,
                        "timings_ms": answer.timings_ms,
                    },
                )
    except SchaengelError as exc:
        status, code = status_for(exc)
        log.warning("streamed answer failed: %s", code)
        message = exc.message_de if status < 500 or code != "error" else GENERIC_MESSAGE
        yield sse("error", {"code": code, "message": message})
    except Exception:
        log.exception("streamed answer failed unexpectedly")
        yield sse("error", {"code": "internal_error", "message": GENERIC_MESSAGE})
