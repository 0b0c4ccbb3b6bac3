"""OpenAI-compatible ``POST /v1/chat/completions`` and ``GET /v1/models``.

The last user message is the question; earlier user messages (with the assistant replies that
followed them) are the history. Sources travel in an extra top-level field ``sources``. A
streamed completion carries the *checked* answer: sentences the grounding check drops must
never reach a client that cannot retract text, so content is sent once the check is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter

from chatbot.answer.base import Turn
from chatbot.api.answering import AnswerStream, ManagedStreamingResponse
from chatbot.api.deps import CallerAudience, RateLimited, State, check_question
from chatbot.api.errors import GENERIC_MESSAGE, InvalidRequestError, QuestionTooLongError
from chatbot.api.routes_ask import ask_options
from chatbot.api.schemas import ChatCompletionRequest, ModelCard, ModelList, SourcePublic
from chatbot.api.sse import SSE_HEADERS
from chatbot.api.state import AppState
from chatbot.domain import Answer
from chatbot.errors import SchaengelError

router = APIRouter(prefix="/v1", tags=["OpenAI-kompatibel"], dependencies=[RateLimited])

MODEL_ID = "schaengel"
_CREATED = 1735689600  # 2025-01-01: a fixed "created" for the model card


def conversation(body: ChatCompletionRequest, state: AppState) -> tuple[str, list[Turn]]:
    """The question (last user message) and the history (earlier user messages + replies)."""
    turns: list[Turn] = []
    question: str | None = None
    for message in body.messages:
        if message.role == "user":
            if question is not None:
                turns.append(Turn(question))
            question = message.text()
        elif message.role == "assistant" and question is not None:
            turns.append(Turn(question, message.text()))
            question = None
    if question is None:
        raise InvalidRequestError(
            "no user message", message_de="Die letzte Nachricht muss eine Frage (role user) sein."
        )
    limit = state.settings.max_question_chars
    if any(len(t.question) > limit for t in turns):
        raise QuestionTooLongError(limit)
    return check_question(question, state), turns[-state.settings.max_history_turns :]


def _sources(answer: Answer) -> list[dict[str, Any]]:
    return [SourcePublic.from_citation(c).model_dump() for c in answer.citations]


@router.post("/chat/completions", summary="Chat-Antwort (OpenAI-kompatibel)")
async def chat_completions(
    body: ChatCompletionRequest, state: State, audience: CallerAudience
) -> Any:
    """``chat.completion`` (or ``chat.completion.chunk`` events ending in ``[DONE]``)."""
    question, history = conversation(body, state)
    options = ask_options(audience, body.filters, history)
    model = body.model or MODEL_ID
    if body.stream:
        stream = await state.answers.stream(question, options)
        return ManagedStreamingResponse(
            _completion_chunks(stream, model),
            on_close=stream.aclose,
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    answer_id, answer = await state.answers.ask(question, options)
    return {
        "id": f"chatcmpl-{answer_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "answer_id": answer_id,
        "refused": answer.refused,
        "sources": _sources(answer),
    }


async def _completion_chunks(stream: AnswerStream, model: str) -> AsyncIterator[bytes]:
    created = int(time.time())
    chunk_id = "chatcmpl-pending"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in stream.events():
            if event.kind != "answer" or event.answer is None:
                continue  # unchecked tokens are not sent (see the module docstring)
            chunk_id = f"chatcmpl-{stream.answer_id}"
            for piece in _pieces(event.answer.text):
                yield chunk({"content": piece})
            yield chunk(
                {},
                "stop",
                answer_id=stream.answer_id,
                refused=event.answer.refused,
                sources=_sources(event.answer),
            )
    except SchaengelError as exc:
        yield f"data: {json.dumps({'error': {'message': exc.message_de}})}\n\n".encode()
    except Exception:
        yield f"data: {json.dumps({'error': {'message': GENERIC_MESSAGE}})}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _pieces(text: str, words: int = 8) -> list[str]:
    """The answer in small pieces so that clients render it progressively."""
    parts = text.split(" ")
    return [
        " ".join(parts[i : i + words]) + (" " if i + words < len(parts) else "")
        for i in range(0, len(parts), words)
    ]


@router.get("/models", response_model=ModelList, summary="Modelle (OpenAI-kompatibel)")
async def models() -> ModelList:
    """The one model this service offers."""
    return ModelList(data=[ModelCard(id=MODEL_ID, created=_CREATED, owned_by="schaengel")])
