"""Prometheus metrics of one app, in the app's own registry (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """Request, answer and abuse-limit metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "schaengel_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "schaengel_http_request_duration_seconds",
            "Time until the response (or stream) was complete.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "schaengel_answers", "Answers given (refusals included).", ["audience"], registry=r
        )
        self.refusals = Counter(
            "schaengel_refusals", "Answers that were refusals.", ["audience"], registry=r
        )
        self.backend_errors = Counter(
            "schaengel_backend_errors", "Answer backend failures.", ["error"], registry=r
        )
        self.rate_limited = Counter(
            "schaengel_rate_limited", "Requests refused by the per-client rate limit.", registry=r
        )
        self.overloaded = Counter(
            "schaengel_overloaded",
            "Requests refused because all answer slots were busy.",
            registry=r,
        )
        self.cancelled = Counter(
            "schaengel_answers_cancelled",
            "Streamed answers stopped because the client went away.",
            registry=r,
        )
        self.in_progress = Gauge(
            "schaengel_answers_in_progress", "Answers being generated now.", registry=r
        )
        self.feedback = Counter(
            "schaengel_feedback", "Feedback received, by rating.", ["rating"], registry=r
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
