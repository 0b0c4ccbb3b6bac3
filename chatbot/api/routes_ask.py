"""``POST /api/v1/ask`` (JSON, timeline or Server-Sent Events) and ``POST /api/v1/feedback``."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from chatbot.answer.base import Turn
from chatbot.api.answering import ManagedStreamingResponse, new_answer_id
from chatbot.api.deps import CallerAudience, RateLimited, State, check_question
from chatbot.api.errors import QuestionTooLongError
from chatbot.api.schemas import (
    AskRequest,
    AskResponse,
    FeedbackRequest,
    FeedbackResponse,
    FilterFields,
    HistoryTurn,
    SourcePublic,
    TimelineEntryOut,
    TimelineResponse,
)
from chatbot.api.sse import SSE_HEADERS, answer_events
from chatbot.api.state import AppState
from chatbot.domain import Audience
from chatbot.retrieval import SearchFilters
from chatbot.service import AskOptions

router = APIRouter(prefix="/api/v1", tags=["Fragen"], dependencies=[RateLimited])

_SSE_DOC = {
    200: {
        "description": "JSON, or with `stream: true` / `Accept: text/event-stream` Server-Sent "
        "Events: `token` {text} …, `sources` [source], `done` {answer_id, answer, refused, "
        "timings_ms}; `error` {code, message} if the answer fails midway.",
        "content": {"text/event-stream": {}},
    }
}


def search_filters(fields: FilterFields | None) -> SearchFilters:
    """API filter fields as retrieval filters (visibility is never taken from a caller)."""
    if fields is None:
        return SearchFilters()
    return SearchFilters(
        doc_types=list(fields.type),
        committee=fields.committee,
        since=fields.since,
        until=fields.until,
        reference=fields.reference,
    )


def history_turns(history: list[HistoryTurn | str], state: AppState) -> list[Turn]:
    """Earlier turns, bounded in number and length."""
    limit = state.settings.max_question_chars
    turns: list[Turn] = []
    for item in history[-state.settings.max_history_turns :] if history else []:
        turn = HistoryTurn(question=item, answer="") if isinstance(item, str) else item
        if len(turn.question) > limit:
            raise QuestionTooLongError(limit)
        turns.append(Turn(turn.question.strip(), turn.answer.strip()))
    return turns


def ask_options(audience: Audience, fields: FilterFields | None, history: list[Turn]) -> AskOptions:
    """The service options for one request."""
    return AskOptions(audience=audience, filters=search_filters(fields), history=history)


def wants_event_stream(request: Request, body_stream: bool) -> bool:
    """``stream: true`` or an Accept header that prefers text/event-stream."""
    return body_stream or "text/event-stream" in request.headers.get("accept", "")


@router.post(
    "/ask",
    response_model=AskResponse | TimelineResponse,
    responses=_SSE_DOC,  # type: ignore[arg-type]
    summary="Frage beantworten (mit Quellen)",
)
async def ask(
    body: AskRequest, request: Request, state: State, audience: CallerAudience
) -> AskResponse | TimelineResponse | Response:
    """Answer a question with numbered sources, or list the topic's documents by date."""
    question = check_question(body.question, state)
    options = ask_options(audience, body, history_turns(body.history, state))
    if body.timeline:
        entries = await state.answers.timeline(question, options)
        return TimelineResponse(
            answer_id=new_answer_id(),
            timeline=[
                TimelineEntryOut(
                    date=e.date,
                    type=e.doc_type,
                    reference=e.reference,
                    title=e.title,
                    snippet=e.snippet,
                    most_recent=e.most_recent,
                    source=SourcePublic.from_citation(e.citation),
                )
                for e in entries
            ],
        )
    if wants_event_stream(request, body.stream):
        stream = await state.answers.stream(question, options)
        return ManagedStreamingResponse(
            answer_events(stream),
            on_close=stream.aclose,
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )
    answer_id, answer = await state.answers.ask(question, options)
    return AskResponse.from_answer(answer_id, answer)


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Rückmeldung zu einer Antwort",
)
async def feedback(
    body: FeedbackRequest, state: State, audience: CallerAudience
) -> FeedbackResponse:
    """Store a thumbs up/down (and an optional comment) for an answer id."""
    answer_id = str(body.answer_id)
    comment = (body.comment or "").strip() or None
    await run_in_threadpool(
        state.feedback.add,
        answer_id,
        body.rating,
        comment,
        audience,
        state.questions.question(answer_id),
    )
    state.metrics.feedback.labels(rating=body.rating).inc()
    return FeedbackResponse()
