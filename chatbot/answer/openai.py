"""Answers from any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, OpenAI).

Retries (429, 5xx, connection errors, timeouts) are the OpenAI client's own: exponential
backoff from 0.5 s, honouring ``Retry-After``, at most ``settings.max_retries`` times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chatbot.answer.chat import ChatModelBackend, safe_url
from chatbot.answer.registry import register_backend
from chatbot.errors import BackendTimeoutError, BackendUnavailableError, MissingDependencyError
from chatbot.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class OpenAIBackend(ChatModelBackend):
    """A chat model at an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model_name = settings.openai_model
        self.base_url = safe_url(settings.openai_base_url)

    def build_chat_model(self) -> BaseChatModel:
        """ChatOpenAI pointed at the configured server."""
        try:
            from langchain_openai import ChatOpenAI
        except ImportError:
            raise MissingDependencyError(
                "the openai backend needs langchain-openai: pip install schaengel"
            ) from None
        s = self.settings
        return ChatOpenAI(
            model=s.openai_model,
            base_url=s.openai_base_url,
            api_key=s.openai_api_key,
            timeout=s.request_timeout_seconds,
            max_retries=s.max_retries,
            temperature=s.temperature,
            # ChatOpenAI sends `max_completion_tokens`; `max_tokens` is the field every
            # OpenAI-compatible server (vLLM, Ollama, llama.cpp server, TGI) understands.
            extra_body={"max_tokens": s.max_answer_tokens},
            stream_usage=False,
        )

    def secrets(self) -> tuple[str, ...]:
        """The API key and a password in the configured URL."""
        password = urlsplit(self.settings.openai_base_url).password or ""
        return (self.settings.openai_api_key.get_secret_value(), password)

    def translate_error(self, exc: Exception) -> BackendUnavailableError:
        """Map the OpenAI client's exceptions to named errors with a hint what to check."""
        import openai

        where = f"OpenAI-compatible server {self.base_url}"
        retries = self.settings.max_retries
        if isinstance(exc, openai.APITimeoutError):
            return BackendTimeoutError(
                f"{where} did not answer within {self.settings.request_timeout_seconds:g} s "
                f"({retries} retries)"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendUnavailableError(
                f"authentication failed at {where} (HTTP {exc.status_code}); "
                "check SCHAENGEL_OPENAI_API_KEY"
            )
        if isinstance(exc, openai.NotFoundError):
            return BackendUnavailableError(
                f"{where} answered HTTP 404; check SCHAENGEL_OPENAI_BASE_URL (usually ends "
                f"in /v1) and SCHAENGEL_OPENAI_MODEL={self.model_name!r}"
            )
        if isinstance(exc, openai.APIStatusError):
            return BackendUnavailableError(
                f"{where} answered HTTP {exc.status_code} after {retries} retries: "
                f"{self.describe(exc)}"
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailableError(f"cannot reach {where} after {retries} retries")
        return super().translate_error(exc)


@register_backend("openai")
def create_openai_backend(settings: Settings) -> OpenAIBackend:
    """Build the OpenAI-compatible backend."""
    return OpenAIBackend(settings)
