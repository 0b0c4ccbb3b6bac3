"""Named exceptions, translated once at the edges (HTTP handler, CLI)."""

from __future__ import annotations


class SchaengelError(Exception):
    """Base of all errors Schängel reports to a user; ``message_de`` is shown to citizens."""

    message_de = "Es ist ein Fehler aufgetreten."

    def __init__(self, message: str = "", *, message_de: str | None = None) -> None:
        super().__init__(message or self.message_de)
        if message_de is not None:
            self.message_de = message_de


class ConfigurationError(SchaengelError):
    """The settings are invalid or name an unknown backend or missing model."""

    message_de = "Die Konfiguration ist ungültig."


class MissingDependencyError(ConfigurationError):
    """An optional dependency needed by the configured backend is not installed."""


class DocumentLoadError(SchaengelError):
    """A file cannot be read (corrupt, encrypted, empty, no text layer, unknown type)."""

    message_de = "Das Dokument konnte nicht gelesen werden."


class StoreUnavailableError(SchaengelError):
    """The vector store (Chroma) cannot be reached or answered with an error."""

    message_de = "Die Dokumentensuche ist gerade nicht erreichbar. Bitte versuchen Sie es später."


class IngestLockedError(SchaengelError):
    """Another ingest run holds the lock on this index."""

    message_de = "Eine andere Aufnahme von Dokumenten läuft bereits."


class IngestWriteError(SchaengelError):
    """Writing the index failed (for example, no space left); the previous index is intact."""

    message_de = "Die Dokumente konnten nicht gespeichert werden; der bisherige Stand bleibt."


class BackendUnavailableError(SchaengelError):
    """The answer model failed or kept failing after bounded retries."""

    message_de = "Das Sprachmodell ist gerade nicht erreichbar. Bitte versuchen Sie es später."


class BackendTimeoutError(BackendUnavailableError):
    """The answer model did not answer in time."""

    message_de = (
        "Das Sprachmodell hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es später."
    )


class NotFoundError(SchaengelError):
    """A requested document does not exist or is not visible to the caller."""

    message_de = "Das Dokument wurde nicht gefunden."


class OParlError(SchaengelError):
    """An OParl request failed (after retries) or the answer is not what OParl promises.

    ``transient`` tells a failure worth retrying in the next sync (429, 5xx, connection)
    from a permanent one (404, invalid JSON, file too large).
    """

    message_de = "Das Ratsinformationssystem (OParl) antwortet nicht oder fehlerhaft."

    def __init__(self, url: str, reason: str, *, transient: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.transient = transient
