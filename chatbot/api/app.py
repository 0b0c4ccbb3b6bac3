"""``create_app(settings)`` builds the HTTP service; tests pass their own container."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from chatbot.api import routes_ask, routes_documents, routes_openai, routes_ops, routes_web
from chatbot.api.errors import install_error_handlers
from chatbot.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from chatbot.api.state import AppState
from chatbot.container import Container
from chatbot.settings import Settings, load_settings

log = logging.getLogger("schaengel.api")

DESCRIPTION = """Antworten mit Quellen aus den Ratsdokumenten (Schängel).

Anonyme Aufrufe sehen nur öffentliche Dokumente; Mitarbeitende melden sich mit
`Authorization: Bearer <Schlüssel>` an. Fehler kommen als JSON mit deutscher Meldung."""


def _warm_up(state: AppState) -> None:
    """Load the embedding model, the lexical index and the backend before traffic arrives."""
    try:
        state.answers.service  # noqa: B018 - builds AskService: embeddings, retriever
        state.container.retriever.lexical.index()
        state.container.backend.check_ready()
        state.warm = True
        log.info("warm-up finished", extra={"event": "ready"})
    except Exception as exc:  # readiness reports it; the process keeps serving /healthz
        state.warm_error = exc.__class__.__name__
        log.warning("warm-up failed: %s", exc.__class__.__name__)


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """The FastAPI app for ``settings`` (a container built from them unless given)."""
    container = container or Container(settings)
    state = AppState.build(settings, container)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Warm up in the background: /healthz answers at once, /readyz once models are loaded.
        threading.Thread(target=_warm_up, args=(state,), name="warm-up", daemon=True).start()
        yield

    app = FastAPI(
        title="Schängel",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
    )
    app.state.schaengel = state
    app.state.metrics = state.metrics
    install_error_handlers(app)
    for module in (routes_ask, routes_documents, routes_openai, routes_ops, routes_web):
        app.include_router(module.router)
    # Added innermost first: body limit → CORS → request context (outermost).
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for uvicorn workers: each builds its own app from the environment."""
    from chatbot.api.logs import configure_logging

    configure_logging()
    return create_app(load_settings())
