"""Request dependencies: the app state, the caller's audience, the rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from chatbot.api.errors import (
    InvalidRequestError,
    QuestionTooLongError,
    RateLimitedError,
    UnauthorizedError,
)
from chatbot.api.state import AppState
from chatbot.domain import Audience


def get_state(request: Request) -> AppState:
    """The state of the app serving this request."""
    state: AppState = request.app.state.schaengel
    return state


State = Annotated[AppState, Depends(get_state)]


def get_audience(request: Request, state: State) -> Audience:
    """``public`` without credentials, ``staff`` with a valid bearer key, 401 otherwise.

    Nothing else a caller sends (headers like X-Audience, body fields, prompt text) is read.
    """
    header = request.headers.get("authorization")
    if header is None:
        return "public"
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not state.staff_keys.verify(token):
        raise UnauthorizedError()
    return "staff"


CallerAudience = Annotated[Audience, Depends(get_audience)]


def enforce_rate_limit(request: Request, state: State, audience: CallerAudience) -> None:
    """Per-client token bucket for the public (staff are authenticated and not limited)."""
    if audience == "staff":
        return
    peer = request.client.host if request.client else None
    key = state.clients.key(peer, request.headers.get("x-forwarded-for"))
    retry_after = state.limiter.acquire(key)
    if retry_after:
        state.metrics.rate_limited.inc()
        raise RateLimitedError(retry_after)


RateLimited = Depends(enforce_rate_limit)


def check_question(question: str, state: AppState) -> str:
    """The stripped question, or 422 with a German message when it is too long."""
    limit = state.settings.max_question_chars
    if len(question) > limit:
        raise QuestionTooLongError(limit)
    question = question.strip()
    if not question:
        raise InvalidRequestError("empty question", message_de="Bitte geben Sie eine Frage ein.")
    return question
