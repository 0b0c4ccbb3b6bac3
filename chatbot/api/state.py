"""Everything one app instance holds: settings, services, limits, metrics, feedback store."""

from __future__ import annotations

from dataclasses import dataclass

from chatbot.api.answering import AnswerRunner
from chatbot.api.auth import StaffKeys
from chatbot.api.feedback import FeedbackStore, QuestionMemory
from chatbot.api.limits import AnswerSlots, ClientIdentifier, RateLimiter
from chatbot.api.metrics import Metrics
from chatbot.container import Container
from chatbot.documents import DocumentService
from chatbot.settings import Settings


@dataclass
class AppState:
    """The per-app objects, built once by ``create_app`` and reached through ``deps``."""

    settings: Settings
    container: Container
    answers: AnswerRunner
    documents: DocumentService
    staff_keys: StaffKeys
    clients: ClientIdentifier
    limiter: RateLimiter
    metrics: Metrics
    feedback: FeedbackStore
    questions: QuestionMemory
    warm: bool = False
    warm_error: str = ""

    @classmethod
    def build(cls, settings: Settings, container: Container) -> AppState:
        """Wire the objects from the settings (no model is loaded here)."""
        from chatbot.service import AskService

        metrics = Metrics()
        questions = QuestionMemory(settings.log_questions)
        salt = settings.rate_limit_salt
        return cls(
            settings=settings,
            container=container,
            answers=AnswerRunner(
                lambda: AskService(container),
                AnswerSlots(settings.max_concurrent_answers),
                metrics,
                questions,
                log_questions=settings.log_questions,
                queue_seconds=settings.answer_queue_seconds,
            ),
            documents=DocumentService(container),
            staff_keys=StaffKeys(settings.staff_keys.get_secret_value()),
            clients=ClientIdentifier(
                settings.trusted_proxies,
                salt.get_secret_value().encode() if salt else None,
            ),
            limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
            metrics=metrics,
            feedback=FeedbackStore(
                settings.data_dir / "feedback.sqlite3", settings.feedback_retention_days
            ),
            questions=questions,
        )
