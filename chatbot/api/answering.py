"""Runs AskService calls for HTTP requests: bounded concurrency, worker threads, streaming
that stops when the client goes away, metrics and privacy-aware logging of answers."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from chatbot.api.errors import OverloadedError
from chatbot.api.feedback import QuestionMemory
from chatbot.api.limits import AnswerSlots
from chatbot.api.metrics import Metrics
from chatbot.domain import Answer

if TYPE_CHECKING:
    from chatbot.service import AskEvent, AskOptions, AskService, TimelineEntry

log = logging.getLogger("schaengel.api")
T = TypeVar("T")


def new_answer_id() -> str:
    """A fresh answer id (quoted by feedback)."""
    return str(uuid.uuid4())


class AnswerRunner:
    """The HTTP side of answering: one AskService per app, used from worker threads."""

    def __init__(
        self,
        service_factory: Callable[[], AskService],
        slots: AnswerSlots,
        metrics: Metrics,
        questions: QuestionMemory,
        log_questions: bool = False,
        queue_seconds: float = 0.0,
    ) -> None:
        self.queue_seconds = queue_seconds
        self._factory = service_factory
        self._service: AskService | None = None
        self._service_lock = threading.Lock()
        self.slots = slots
        self.metrics = metrics
        self.questions = questions
        self.log_questions = log_questions

    @property
    def service(self) -> AskService:
        """The AskService, built on first use (it loads the embedding model)."""
        if self._service is None:
            with self._service_lock:
                if self._service is None:
                    self._service = self._factory()
        return self._service

    async def _acquire(self) -> None:
        """Wait (bounded) for an answer slot; 503 when none frees up in time."""
        if not await self.slots.acquire(self.queue_seconds):
            self.metrics.overloaded.inc()
            raise OverloadedError()
        self.metrics.in_progress.inc()

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self._released()

    async def ask(self, question: str, options: AskOptions) -> tuple[str, Answer]:
        """Answer in a worker thread; returns the answer id and the checked answer."""
        async with self._slot():
            answer = await run_in_threadpool(self.service.ask, question, options)
        return self.record(question, options, answer), answer

    async def timeline(self, question: str, options: AskOptions) -> list[TimelineEntry]:
        """The topic's documents by date, in a worker thread."""
        async with self._slot():
            return await run_in_threadpool(self.service.timeline, question, options)

    async def stream(self, question: str, options: AskOptions) -> AnswerStream:
        """Start a streamed answer; errors before the first token raise here (proper status)."""
        await self._acquire()
        stream = AnswerStream(self, question, options)
        try:
            await stream.start()
        except BaseException:
            await stream.aclose()
            raise
        return stream

    def _released(self) -> None:
        self.metrics.in_progress.dec()
        self.slots.release()

    def record(self, question: str, options: AskOptions, answer: Answer) -> str:
        """Count and log a finished answer; returns its new answer id."""
        answer_id = new_answer_id()
        self.metrics.answers.labels(audience=options.audience).inc()
        if answer.refused:
            self.metrics.refusals.labels(audience=options.audience).inc()
        extra: dict[str, Any] = {
            "event": "answer",
            "answer_id": answer_id,
            "audience": options.audience,
            "refused": answer.refused,
            "sources": len(answer.citations),
            "question_chars": len(question),
            "timings_ms": answer.timings_ms,
        }
        if self.log_questions:
            extra["question"] = question
            self.questions.remember(answer_id, question)
        log.info("answered", extra=extra)
        return answer_id


class AnswerStream:
    """AskService.stream driven from worker threads; closing it stops the generation."""

    def __init__(self, runner: AnswerRunner, question: str, options: AskOptions) -> None:
        self.runner = runner
        self.question = question
        self.options = options
        self.answer_id = ""
        self._events: Iterator[AskEvent] | None = None
        self._first: AskEvent | None = None
        self._finished = False
        self._closed = False

    async def start(self) -> None:
        """Run retrieval and wait for the first event."""
        service = await run_in_threadpool(lambda: self.runner.service)
        self._events = service.stream(self.question, self.options)
        self._first = await anyio.to_thread.run_sync(_next_or_none, self._events)

    async def events(self) -> AsyncIterator[AskEvent]:
        """The events; the last one carries the checked answer (and gets an answer id)."""
        assert self._events is not None
        try:
            event = self._first
            while event is not None:
                if event.kind == "answer" and event.answer is not None:
                    self.answer_id = self.runner.record(self.question, self.options, event.answer)
                    self._finished = True
                yield event
                event = await anyio.to_thread.run_sync(_next_or_none, self._events)
            self._finished = True
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop generating (idempotent): close the generator off the event loop, free the slot."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._events is not None:
                close = getattr(self._events, "close", None)
                if close is not None:
                    await anyio.to_thread.run_sync(close)
            if not self._finished and self._events is not None:
                self.runner.metrics.cancelled.inc()
                log.info("streamed answer stopped early (client gone)", extra={"event": "cancel"})
            self.runner._released()


def _next_or_none(events: Iterator[AskEvent]) -> AskEvent | None:
    # StopIteration must not cross a thread boundary (it would break the awaiting coroutine).
    try:
        return next(events)
    except StopIteration:
        return None


class ManagedStreamingResponse(StreamingResponse):
    """A streaming response that always runs ``on_close`` (even if never iterated)."""

    def __init__(
        self,
        content: AsyncIterator[bytes],
        on_close: Callable[[], Any],
        media_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._on_close()
