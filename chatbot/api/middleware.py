"""ASGI middleware: request ids, request logs and metrics, security headers, body size limit.

Written as plain ASGI (not BaseHTTPMiddleware) so that streamed answers pass through untouched
and a client's disconnect still reaches the streaming response.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot.api.errors import GENERIC_MESSAGE, PayloadTooLargeError, error_body
from chatbot.api.logs import request_id_var
from chatbot.api.metrics import Metrics

log = logging.getLogger("schaengel.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
_UNSCOPED_PATHS = ("/docs", "/redoc")  # Swagger UI loads its assets from a CDN


async def send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    """Send a complete JSON response from middleware."""
    payload = json.dumps(body, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Request id (X-Request-ID in and out), JSON request log, metrics, security headers, and
    a last-resort 500 that never carries a stack trace. Addresses and query strings are not
    logged."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        path: str = scope.get("path", "")

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                _security_headers(headers, path)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"event": "error"})
            if not response_started:
                await send_json(
                    send_wrapper,
                    500,
                    error_body("internal_error", GENERIC_MESSAGE, request_id),
                    {"Cache-Control": "no-store"},
                )
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            duration = time.perf_counter() - started
            method = scope.get("method", "")
            self.metrics.requests.labels(route=template, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=template, method=method).observe(duration)
            log.info(
                "request",
                extra={
                    "event": "request",
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                },
            )
            request_id_var.reset(token)


def _security_headers(headers: MutableHeaders, path: str) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    content_type = headers.get("content-type", "")
    if content_type.startswith("text/html"):
        if not path.startswith(_UNSCOPED_PATHS):
            headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    elif path.startswith(("/api/", "/v1/")):
        # Answers for staff may quote internal documents: never cache them anywhere.
        headers.setdefault("Cache-Control", "no-store")


class BodyLimitMiddleware:
    """413 with a German message when a body exceeds ``max_bytes`` (by Content-Length or while
    reading); the body is read (bounded) before the app runs, then replayed to it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await send_json(
                    send, 400, error_body("bad_request", "Ungültige Länge.", request_id), {}
                )
                return
            if int(declared) > self.max_bytes:
                await self._too_large(send, request_id)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its request
            body.extend(message.get("body", b""))
            if len(body) > self.max_bytes:
                await self._too_large(send, request_id)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # later calls wait for the disconnect (streaming)

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, request_id: str | None) -> None:
        error = PayloadTooLargeError(self.max_bytes)
        await send_json(
            send,
            413,
            error_body(error.code, error.message_de, request_id),
            {"Connection": "close"},
        )
