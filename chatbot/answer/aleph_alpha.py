"""Answers from the Aleph Alpha API (PhariaAI inference, self-hosted or cloud).

``ChatAlephAlpha`` is our LangChain adapter on the official ``aleph-alpha-client``. Only its
``AsyncClient`` streams, so the adapter is async at heart; sync calls run the same coroutines
on one private event loop thread. Retries on 408/429/5xx and connection errors are the
client's own (exponential backoff from 0.5 s, ``total_retries`` times); the timeout bounds
each attempt including the streamed body.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, SecretStr

from chatbot.answer.chat import ChatModelBackend, redact, safe_url
from chatbot.answer.registry import register_backend
from chatbot.errors import BackendTimeoutError, BackendUnavailableError, MissingDependencyError
from chatbot.prompting import COMPLETION_STOP, message_text, render_completion_prompt
from chatbot.settings import Settings

if TYPE_CHECKING:
    from aleph_alpha_client import AsyncClient

T = TypeVar("T")

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class _LoopThread:
    """A private asyncio event loop in a daemon thread: the sync bridge to the async client."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="aleph-alpha-loop", daemon=True
                ).start()
                self._loop = loop
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._get_loop()).result()

    def iterate(self, agen: AsyncGenerator[T, None]) -> Iterator[T]:
        """Iterate an async generator from sync code, closing it when the caller stops."""

        async def step() -> tuple[bool, T | None]:
            try:
                return True, await agen.__anext__()
            except StopAsyncIteration:
                return False, None

        try:
            while True:
                more, item = self.run(step())
                if not more:
                    return
                yield cast(T, item)
        finally:
            self.run(agen.aclose())


_LOOP = _LoopThread()


class ChatAlephAlpha(BaseChatModel):
    """LangChain chat model on the Aleph Alpha API: ``/chat/completions`` or ``/complete``."""

    host: str = Field(description="API base, e.g. https://inference.example.org/v1")
    token: SecretStr = Field(repr=False, description="Bearer token.")
    model: str = Field(description="Model name at the server.")
    endpoint: Literal["chat", "complete"] = "chat"
    maximum_tokens: int = 400
    temperature: float = 0.0
    request_timeout_seconds: float = 60.0
    total_retries: int = 3
    stop: list[str] | None = Field(
        default_factory=lambda: list(COMPLETION_STOP),
        description="Stop sequences for /complete (the chat endpoint has none).",
    )

    @property
    def _llm_type(self) -> str:
        return "aleph-alpha"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"host": safe_url(self.host), "model": self.model, "endpoint": self.endpoint}

    # --- LangChain entry points ------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _LOOP.run(self._agenerate(messages, stop, None, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = await self._acomplete_text(messages, stop)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in _LOOP.iterate(self._astream_text(messages, stop)):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for text in self._astream_text(messages, stop):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    # --- the client ------------------------------------------------------------------------
    def _client(self) -> AsyncClient:
        try:
            from aleph_alpha_client import AsyncClient
        except ImportError:
            raise MissingDependencyError(
                "the aleph-alpha backend needs aleph-alpha-client: pip install schaengel"
            ) from None
        return AsyncClient(
            token=self.token.get_secret_value(),
            host=self.host,
            # Annotated int, but handed to aiohttp.ClientTimeout, which takes seconds as float.
            request_timeout_seconds=cast(int, self.request_timeout_seconds),
            total_retries=self.total_retries,
        )

    def _chat_request(self, messages: list[BaseMessage]) -> Any:
        from aleph_alpha_client.chat import ChatRequest, Message, Role

        return ChatRequest(
            model=self.model,
            messages=[
                Message(role=Role(_ROLES.get(m.type, "user")), content=message_text(m))
                for m in messages
            ],
            maximum_tokens=self.maximum_tokens,
            temperature=self.temperature,
        )

    def _completion_request(self, messages: list[BaseMessage], stop: list[str] | None) -> Any:
        from aleph_alpha_client import CompletionRequest, Prompt

        return CompletionRequest(
            prompt=Prompt.from_text(render_completion_prompt(messages)),
            maximum_tokens=self.maximum_tokens,
            temperature=self.temperature,
            stop_sequences=stop if stop is not None else self.stop,
        )

    async def _acomplete_text(self, messages: list[BaseMessage], stop: list[str] | None) -> str:
        try:
            async with self._client() as client:
                if self.endpoint == "chat":
                    chat = await client.chat(self._chat_request(messages), model=self.model)
                    return chat.message.content
                completion = await client.complete(
                    self._completion_request(messages, stop), model=self.model
                )
                return completion.completions[0].completion or ""
        except MissingDependencyError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    async def _astream_text(
        self, messages: list[BaseMessage], stop: list[str] | None
    ) -> AsyncGenerator[str, None]:
        from aleph_alpha_client.chat import ChatStreamChunk
        from aleph_alpha_client.completion import StreamChunk

        try:
            async with self._client() as client:
                if self.endpoint == "chat":
                    request = self._chat_request(messages)
                    async for item in client.chat_with_streaming(request, model=self.model):
                        if isinstance(item, ChatStreamChunk) and item.content:
                            yield item.content
                else:
                    request = self._completion_request(messages, stop)
                    async for event in client.complete_with_streaming(request, model=self.model):
                        if isinstance(event, StreamChunk) and event.completion:
                            yield event.completion
        except MissingDependencyError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> BackendUnavailableError:
        """A named error for a client failure; never contains the token."""
        import aiohttp

        where = f"Aleph Alpha API {safe_url(self.host)}"
        status = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        detail = str(exc.args[1])[:200] if status is not None and len(exc.args) > 1 else ""
        if isinstance(exc, PermissionError) and status is not None:
            message: str = (
                f"authentication failed at {where} (HTTP {status}); "
                "check SCHAENGEL_ALEPH_ALPHA_TOKEN"
            )
        elif isinstance(exc, TimeoutError):
            # The client retries statuses and connection errors, not timeouts.
            return BackendTimeoutError(
                f"{where} did not answer within {self.request_timeout_seconds:g} s"
            )
        elif status is not None:
            message = f"{where} answered HTTP {status} after {self.total_retries} retries: {detail}"
        elif isinstance(exc, aiohttp.ClientError):
            message = f"cannot reach {where} after {self.total_retries} retries ({exc!r})"
        else:
            message = f"{where} failed: {type(exc).__name__}: {exc}"
        return BackendUnavailableError(redact(message[:500], [self.token.get_secret_value()]))


class AlephAlphaBackend(ChatModelBackend):
    """Answers from an Aleph Alpha model via ``ChatAlephAlpha``."""

    name = "aleph-alpha"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model_name = settings.aleph_alpha_model

    def build_chat_model(self) -> BaseChatModel:
        """ChatAlephAlpha configured from the settings."""
        s = self.settings
        return ChatAlephAlpha(
            host=s.aleph_alpha_host,
            token=s.aleph_alpha_token,
            model=s.aleph_alpha_model,
            endpoint=s.aleph_alpha_endpoint,
            maximum_tokens=s.max_answer_tokens,
            temperature=s.temperature,
            request_timeout_seconds=s.request_timeout_seconds,
            total_retries=s.max_retries,
        )

    def secrets(self) -> tuple[str, ...]:
        """The bearer token."""
        return (self.settings.aleph_alpha_token.get_secret_value(),)


@register_backend("aleph-alpha")
def create_aleph_alpha_backend(settings: Settings) -> AlephAlphaBackend:
    """Build the Aleph Alpha backend."""
    return AlephAlphaBackend(settings)
