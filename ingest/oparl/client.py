"""A polite HTTP client for OParl servers: paced, bounded, retried, and with an object cache."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin

import httpx

from chatbot.errors import OParlError
from chatbot.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "Schaengel/0.1 (+OParl sync)"
_JSON = "application/json"
_ANY = "*/*"
_MAX_WAIT_SECONDS = 300.0  # a longer Retry-After is cut: the sync must end some time
T = TypeVar("T")


class _Retry(Exception):
    """An answer worth another attempt, with the server's Retry-After (seconds) if any."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Pacer:
    """Spaces request starts at least ``delay`` seconds apart across all threads."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if self.delay <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.delay
        if start > now:
            time.sleep(start - now)


class OParlClient:
    """GET requests to one OParl server; thread-safe, so that a pool can share it."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.max_retries = settings.oparl_max_retries
        self.backoff = settings.oparl_backoff_seconds
        self.max_bytes = int(settings.oparl_max_file_mb * 1024 * 1024)
        self._pacer = _Pacer(settings.oparl_delay_seconds)
        self._http = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=settings.oparl_timeout_seconds,
            follow_redirects=True,
            transport=transport,
            limits=httpx.Limits(max_connections=settings.oparl_concurrency),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> OParlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public ---------------------------------------------------------------------------
    def get_json(self, url: str) -> dict[str, Any]:
        """One OParl object or list page."""
        return self.get_json_with_date(url)[0]

    def get_json_with_date(self, url: str) -> tuple[dict[str, Any], datetime | None]:
        """An object and the server's clock (``Date`` header): the safest sync cursor."""
        body, headers = self._get(url, _JSON)
        try:
            data = json.loads(body)
        except ValueError:
            raise OParlError(url, "the answer is not JSON") from None
        if not isinstance(data, dict):
            raise OParlError(url, "the answer is not a JSON object")
        return data, _server_date(headers.get("Date"))

    def iter_list(self, url: str) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Pages of an OParl list as (objects, next page URL), following ``links.next``."""
        next_url: str | None = url
        visited: set[str] = set()
        while next_url and next_url not in visited:
            visited.add(next_url)
            page = self.get_json(next_url)
            objects = [item for item in page.get("data") or [] if isinstance(item, dict)]
            following = next_link(page)
            next_url = urljoin(next_url, following) if following else None
            yield objects, next_url

    def download(self, url: str) -> bytes:
        """The bytes of a file, at most ``oparl_max_file_mb``."""
        return self._get(url, _ANY)[0]

    # --- retries --------------------------------------------------------------------------
    def _get(self, url: str, accept: str) -> tuple[bytes, httpx.Headers]:
        return self._with_retries(url, lambda: self._attempt(url, accept))

    def _with_retries(self, url: str, attempt: Callable[[], T]) -> T:
        reason = ""
        for n in range(self.max_retries + 1):
            wait = self.backoff * 2**n * random.uniform(1.0, 1.2)
            try:
                return attempt()
            except _Retry as exc:
                reason = exc.reason
                wait = max(wait, exc.retry_after or 0.0)
            except httpx.UnsupportedProtocol:
                raise OParlError(url, "unsupported URL scheme") from None
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise OParlError(url, f"{type(exc).__name__}: {exc}") from None
            if n < self.max_retries:
                wait = min(wait, _MAX_WAIT_SECONDS)
                log.info("retrying %s in %.1f s (%s)", url, wait, reason)
                time.sleep(wait)
        attempts = self.max_retries + 1
        raise OParlError(url, f"{reason} (after {attempts} attempts)", transient=True)

    def _attempt(self, url: str, accept: str) -> tuple[bytes, httpx.Headers]:
        self._pacer.wait()
        with self._http.stream("GET", url, headers={"Accept": accept}) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("Retry-After")))
            if status >= 400:
                raise OParlError(url, f"HTTP {status}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise OParlError(url, f"larger than {self.max_bytes // 1_048_576} MB")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise OParlError(url, f"larger than {self.max_bytes // 1_048_576} MB")
                chunks.append(chunk)
            return b"".join(chunks), response.headers


class ObjectCache:
    """Objects fetched once per sync (organizations, meetings, related papers), failures too.

    Concurrent callers asking for the same URL share one request; with ``keep``, only those
    fields are held in memory.
    """

    def __init__(self, client: OParlClient, keep: frozenset[str] | None = None) -> None:
        self._client = client
        self._keep = keep
        self._lock = threading.Lock()
        self._futures: dict[str, Future[dict[str, Any]]] = {}

    def get(self, url: str) -> dict[str, Any]:
        """The object at ``url``; OParlError when it cannot be fetched."""
        with self._lock:
            future = self._futures.get(url)
            owner = future is None
            if future is None:
                future = self._futures[url] = Future()
        if owner:
            try:
                obj = self._client.get_json(url)
                if self._keep is not None:
                    obj = {k: v for k, v in obj.items() if k in self._keep}
                future.set_result(obj)
            except OParlError as exc:
                future.set_exception(exc)
        return future.result()


def next_link(page: dict[str, Any]) -> str | None:
    """The ``links.next`` URL of a list page, or None on the last page."""
    links = page.get("links")
    value = links.get("next") if isinstance(links, dict) else None
    return value if isinstance(value, str) and value else None


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = _server_date(value)
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when else None


def _server_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
