"""One typed settings object: environment variables with the prefix ``SCHAENGEL_`` and an
optional TOML config file (``SCHAENGEL_CONFIG_FILE``); validated at start-up."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from chatbot.errors import ConfigurationError

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Everything that can be configured; each field maps to ``SCHAENGEL_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix="SCHAENGEL_", extra="ignore", validate_default=True
    )

    # --- storage -------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Embedded store, lexical index and state.")
    chroma_host: str | None = Field(None, description="Chroma server host; unset = embedded.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    chroma_ssl: bool = Field(False, description="Use HTTPS for the Chroma server.")
    chroma_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra headers for the Chroma server (proxy tokens)."
    )
    chroma_cloud_api_key: SecretStr | None = Field(None, description="Chroma Cloud API key.")
    chroma_tenant: str | None = Field(None, description="Chroma tenant (server or cloud).")
    chroma_database: str | None = Field(None, description="Chroma database (server or cloud).")
    collection: str = Field("schaengel", description="Name of the Chroma collection of chunks.")
    lexical_refresh_seconds: float = Field(
        2.0, description="How often a running service checks for a newer index generation."
    )

    # --- embedding and chunking ----------------------------------------------------------
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        description="Sentence-transformers model: the packaged MiniLM, a local path or a name "
        "already in the local Hugging Face cache (never downloaded at run time).",
    )
    embedding_batch_size: int = Field(32, ge=1, description="Chunks per embedding batch.")
    chunk_max_tokens: int | None = Field(
        None, ge=32, description="Largest chunk in model word pieces; default = model maximum."
    )
    chunk_overlap_tokens: int = Field(32, ge=0, description="Overlap between adjacent chunks.")

    fusion_lexical_weight: float = Field(
        1.0, ge=0, description="Weight of the German BM25 ranking in rank fusion."
    )
    fusion_rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant k.")
    fusion_gate: bool = Field(
        True, description="Let dense results reorder only what BM25 leaves undecided."
    )
    fusion_dense_weight: float = Field(
        0.3, ge=0, description="Weight of the dense (embedding) ranking in rank fusion."
    )

    # --- answering -----------------------------------------------------------------------
    answer_backend: str = Field("extractive", description="extractive, local, openai, aleph-alpha")
    top_k: int = Field(6, ge=1, le=50, description="Passages handed to the answer backend.")
    context_tokens: int = Field(3000, ge=256, description="Prompt budget for passages (tokens).")
    max_answer_tokens: int = Field(400, ge=16, description="Longest generated answer (tokens).")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")
    request_timeout_seconds: float = Field(60.0, gt=0, description="Remote backend timeout.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries on 429/5xx before giving up.")
    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible URL.")
    openai_model: str = Field("default", description="Model name at the OpenAI-compatible server.")
    openai_api_key: SecretStr = Field(SecretStr("none"), description="API key (never logged).")
    aleph_alpha_host: str = Field("https://api.aleph-alpha.com", description="Aleph Alpha host.")
    aleph_alpha_model: str = Field("llama-3.1-8b-instruct", description="Aleph Alpha model.")
    aleph_alpha_token: SecretStr = Field(SecretStr(""), description="Bearer token (never logged).")
    aleph_alpha_endpoint: Literal["chat", "complete"] = Field(
        "chat", description="Use /chat/completions or /complete."
    )
    local_model_path: Path | None = Field(
        None, description="GGUF file for the local backend; default = packaged Gemma 3 270M."
    )
    local_context_tokens: int = Field(4096, ge=512, description="Context window of the GGUF.")
    local_threads: int | None = Field(None, ge=1, description="CPU threads for llama.cpp.")

    # --- OParl ---------------------------------------------------------------------------
    oparl_concurrency: int = Field(
        2, ge=1, le=16, description="Parallel requests to an OParl server (threads)."
    )
    oparl_delay_seconds: float = Field(
        0.2, ge=0, description="Least pause between two requests to an OParl server (politeness)."
    )
    oparl_timeout_seconds: float = Field(30.0, gt=0, description="Timeout of one OParl request.")
    oparl_max_retries: int = Field(
        4, ge=0, le=10, description="Retries on 429, 5xx and connection errors per request."
    )
    oparl_backoff_seconds: float = Field(
        1.0, ge=0, description="Wait before the first retry; doubles with each further retry."
    )
    oparl_max_file_mb: float = Field(
        100.0, gt=0, description="Largest file downloaded from an OParl server (MB)."
    )
    oparl_visibility: Literal["public", "internal"] = Field(
        "public", description="Visibility of OParl documents; internal marks a whole source."
    )

    # --- HTTP service --------------------------------------------------------------------
    staff_keys: SecretStr = Field(
        SecretStr(""),
        description="Staff API keys, comma-separated; each plain or sha256:<hex> (never logged).",
    )
    max_question_chars: int = Field(
        1000, ge=10, le=20000, description="Longest question (and history entry) in characters."
    )
    max_history_turns: int = Field(10, ge=0, le=50, description="Earlier turns sent per request.")
    max_body_bytes: int = Field(
        16384, ge=1024, le=10_485_760, description="Largest request body accepted (bytes)."
    )
    rate_limit_per_minute: float = Field(
        30.0, ge=0, description="Requests per minute per client network (public); 0 = off."
    )
    rate_limit_burst: int = Field(10, ge=1, description="Requests a client may make at once.")
    rate_limit_salt: SecretStr | None = Field(
        None, description="Salt for hashing client networks; unset = random at each start."
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses or networks (comma-separated) whose X-Forwarded-For counts.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser; empty = same origin only.",
    )
    max_concurrent_answers: int = Field(
        4, ge=1, le=256, description="Answers generated at the same time per process."
    )
    answer_queue_seconds: float = Field(
        10.0,
        ge=0,
        le=120,
        description="How long a request waits for a free answer slot (503 after).",
    )
    log_questions: bool = Field(
        False, description="Log question text and keep it with feedback (off: data minimisation)."
    )
    feedback_retention_days: int = Field(
        180, ge=1, description="Days feedback is kept in data_dir/feedback.sqlite3."
    )
    api_docs: bool = Field(
        True, description="Serve the OpenAPI docs at /docs (Swagger UI loads from a CDN)."
    )

    @field_validator("trusted_proxies", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("answer_backend")
    @classmethod
    def _backend_lower(cls, value: str) -> str:
        return value.strip().lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("SCHAENGEL_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @property
    def uses_chroma_server(self) -> bool:
        """True when a Chroma server or Chroma Cloud is used instead of the embedded store."""
        return bool(self.chroma_host or self.chroma_cloud_api_key)


def load_settings(**overrides: Any) -> Settings:
    """Build and validate the settings; a readable ConfigurationError instead of a trace."""
    config_file = os.environ.get("SCHAENGEL_CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise ConfigurationError(f"SCHAENGEL_CONFIG_FILE={config_file} does not exist")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"SCHAENGEL_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
