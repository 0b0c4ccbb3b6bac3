"""Errors of the HTTP layer and the one place where every error becomes a JSON response.

Core errors (``chatbot.errors``) map to status codes here; the API adds its own named errors
(rate limit, overload, authentication, size). Every response carries a German message and the
request id; nothing ever includes a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatbot.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    NotFoundError,
    SchaengelError,
    StoreUnavailableError,
)

log = logging.getLogger("schaengel.api")

GENERIC_MESSAGE = "Es ist ein interner Fehler aufgetreten. Bitte versuchen Sie es später erneut."


class ApiError(SchaengelError):
    """An error of the HTTP layer; carries its own status code, code word and headers."""

    status_code = 400
    code = "bad_request"
    message_de = "Die Anfrage ist ungültig."

    def __init__(
        self,
        message: str = "",
        *,
        message_de: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, message_de=message_de)
        self.headers = headers or {}


class UnauthorizedError(ApiError):
    """A key was presented but it is not a valid staff key (never silently downgraded)."""

    status_code = 401
    code = "unauthorized"
    message_de = "Der Zugangsschlüssel ist ungültig."

    def __init__(self) -> None:
        super().__init__("invalid staff key", headers={"WWW-Authenticate": "Bearer"})


class QuestionTooLongError(ApiError):
    """The question (or an earlier turn) exceeds ``max_question_chars``."""

    status_code = 422
    code = "question_too_long"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "question too long",
            message_de=f"Die Frage ist zu lang. Erlaubt sind höchstens {limit} Zeichen.",
        )


class InvalidRequestError(ApiError):
    """The request is well-formed JSON but asks for something impossible."""

    status_code = 422
    code = "invalid_request"


class PayloadTooLargeError(ApiError):
    """The request body exceeds ``max_body_bytes``."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "request body too large",
            message_de=f"Die Anfrage ist zu groß. Erlaubt sind höchstens {limit} Bytes.",
        )


class RateLimitedError(ApiError):
    """The client network made too many requests; ``Retry-After`` says when to come back."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "rate limited",
            message_de=(
                "Zu viele Anfragen in kurzer Zeit. "
                f"Bitte versuchen Sie es in {retry_after} Sekunden erneut."
            ),
            headers={"Retry-After": str(retry_after)},
        )


class OverloadedError(ApiError):
    """All answer slots of this process are busy."""

    status_code = 503
    code = "overloaded"
    message_de = "Der Assistent ist gerade stark ausgelastet. Bitte versuchen Sie es gleich erneut."

    def __init__(self, retry_after: int = 5) -> None:
        super().__init__("all answer slots busy", headers={"Retry-After": str(retry_after)})


# Core errors → (status, code). Looked up along the exception's MRO, most specific first.
_CORE_STATUS: dict[type[SchaengelError], tuple[int, str]] = {
    BackendTimeoutError: (504, "backend_timeout"),
    BackendUnavailableError: (503, "backend_unavailable"),
    StoreUnavailableError: (503, "store_unavailable"),
    NotFoundError: (404, "not_found"),
    ConfigurationError: (500, "configuration"),
}

_HTTP_MESSAGES = {
    400: "Die Anfrage ist ungültig.",
    401: "Anmeldung erforderlich.",
    403: "Zugriff verweigert.",
    404: "Die Seite oder das Dokument wurde nicht gefunden.",
    405: "Diese Methode ist hier nicht erlaubt.",
    406: "Dieses Antwortformat wird nicht unterstützt.",
    413: "Die Anfrage ist zu groß.",
    415: "Dieses Datenformat wird nicht unterstützt.",
}


def status_for(exc: SchaengelError) -> tuple[int, str]:
    """The HTTP status code and code word of a Schängel error."""
    if isinstance(exc, ApiError):
        return exc.status_code, exc.code
    for cls in type(exc).__mro__:
        if cls in _CORE_STATUS:
            return _CORE_STATUS[cls]
    return 500, "error"


def error_body(
    code: str, message: str, request_id: str | None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON shape of every error: ``{"error": {"code", "message"[, "details"]}, ...}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error, "request_id": request_id}


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str | None,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    """A JSON error response."""
    return JSONResponse(
        error_body(code, message, request_id, details), status_code=status, headers=headers
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def schaengel_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping from Schängel errors to status codes and German messages."""
    assert isinstance(exc, SchaengelError)
    status, code = status_for(exc)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None and isinstance(exc, BackendUnavailableError):
        metrics.backend_errors.labels(error=code).inc()
    if status >= 500:
        log.warning("request failed: %s (%s)", code, exc.__class__.__name__)
    headers = exc.headers if isinstance(exc, ApiError) else None
    message = exc.message_de if status < 500 or code != "error" else GENERIC_MESSAGE
    return error_response(status, code, message, _request_id(request), headers)


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Invalid input → 422 with a German message and the fields at fault (no input echo)."""
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "problem": str(err.get("msg", "")),
        }
        for err in exc.errors()
    ]
    return error_response(
        422,
        "validation_error",
        "Die Anfrage ist ungültig. Bitte prüfen Sie die markierten Angaben.",
        _request_id(request),
        details=details,
    )


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Routing errors (404, 405 …) in the same JSON shape, with German messages."""
    assert isinstance(exc, StarletteHTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, "Die Anfrage konnte nicht bearbeitet werden.")
    return error_response(
        exc.status_code, f"http_{exc.status_code}", message, _request_id(request), exc.headers
    )


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected → 500 with a generic message; the trace goes to the log only."""
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", GENERIC_MESSAGE, _request_id(request))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(SchaengelError, schaengel_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
