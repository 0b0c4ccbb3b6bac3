"""Operations: liveness, readiness, Prometheus metrics, and what a client needs to know."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from chatbot.api.deps import CallerAudience, State
from chatbot.api.schemas import ServiceInfo
from chatbot.api.state import AppState
from chatbot.errors import SchaengelError

router = APIRouter(tags=["Betrieb"])

AI_NOTICE = {
    "de": "Sie chatten mit einem KI-Assistenten.",
    "en": "You are chatting with an AI assistant.",
}


@router.get("/healthz", summary="Lebt der Prozess?")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def readiness(state: AppState) -> tuple[bool, dict[str, str], str]:
    """Check store, embedding model and answer backend; (ready, checks, first reason)."""
    checks: dict[str, str] = {}
    reasons: list[str] = []
    container = state.container
    try:
        container.store.heartbeat()
        checks["store"] = "ok"
    except SchaengelError as exc:
        checks["store"] = "unavailable"
        reasons.append(exc.message_de)
    if "embeddings" in container.__dict__:
        checks["embeddings"] = "ok"
    else:
        checks["embeddings"] = "loading" if not state.warm_error else "failed"
        reasons.append("Das Sprachmodell für die Suche wird noch geladen.")
    try:
        container.backend.check_ready()
        checks["backend"] = "ok"
    except SchaengelError as exc:
        checks["backend"] = "unavailable"
        reasons.append(exc.message_de)
    return not reasons, checks, reasons[0] if reasons else ""


@router.get("/readyz", summary="Ist der Dienst bereit?")
async def readyz(state: State) -> JSONResponse:
    """Readiness: 200 when store, embedding model and backend are usable, else 503 + reason."""
    ready, checks, reason = await run_in_threadpool(readiness, state)
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "checks": checks}
    if not ready:
        body["reason"] = reason
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus-Metriken")
async def metrics(state: State) -> Response:
    """Prometheus text format (restrict access at the reverse proxy)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/info", response_model=ServiceInfo, summary="Angaben für Widget und Konsole")
async def info(state: State, audience: CallerAudience) -> ServiceInfo:
    """The AI notice, the privacy facts and the caller's audience (401 for a wrong key)."""
    return ServiceInfo(
        name="Schängel",
        audience=audience,
        ai_notice=AI_NOTICE,
        questions_logged=state.settings.log_questions,
        max_question_chars=state.settings.max_question_chars,
    )
