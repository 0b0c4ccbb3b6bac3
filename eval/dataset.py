"""Regression question sets: load JSONL or YAML, validate each entry, resolve gold documents.

A question names the documents that answer it (``expected_sources``: a file name, a document
id or a reference number each), the facts its answer must contain
(``expected_answer_contains``: groups of alternatives), and whether it is answerable at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from chatbot.answer.base import Turn
from chatbot.domain import AUDIENCES, Audience
from chatbot.errors import SchaengelError
from chatbot.retrieval import SearchFilters

FIELDS = frozenset(
    {
        "id",
        "question",
        "expected_sources",
        "expected_answer_contains",
        "answerable",
        "audience",
        "filters",
        "history",
        "conversation",
        "notes",
    }
)
FILTER_KEYS = frozenset({"type", "committee", "since", "until", "reference"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})


class DatasetError(SchaengelError):
    """A question set cannot be read or an entry is invalid (the message names line and id)."""

    message_de = "Der Fragenkatalog ist ungültig."


@dataclass(frozen=True)
class EvalQuestion:
    """One regression question with what a correct answer looks like."""

    id: str
    question: str
    expected_sources: tuple[str, ...] = ()
    expected_answer_contains: tuple[tuple[str, ...], ...] = ()
    answerable: bool = True
    audience: Audience = "public"
    filters: Mapping[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    conversation: str = ""
    notes: str = ""

    def search_filters(self) -> SearchFilters:
        """The filters as the retriever takes them."""
        kinds = self.filters.get("type") or []
        return SearchFilters(
            doc_types=[kinds] if isinstance(kinds, str) else list(kinds),
            committee=self.filters.get("committee"),
            since=_as_date(self.filters.get("since")),
            until=_as_date(self.filters.get("until")),
            reference=self.filters.get("reference"),
        )

    def turns(self) -> list[Turn]:
        """The earlier questions of the conversation as turns for condensing."""
        return [Turn(q) for q in self.history]


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read and validate a question set (``.jsonl`` or ``.yaml``/``.yml``)."""
    if not path.is_file():
        raise DatasetError(f"question set {path} does not exist")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix in YAML_SUFFIXES:
        entries = _yaml_entries(path, text)
    elif suffix in JSONL_SUFFIXES or suffix == ".json":
        entries = _jsonl_entries(path, text)
    else:
        raise DatasetError(f"{path}: unknown question set format {suffix!r}; use .jsonl or .yaml")
    questions: list[EvalQuestion] = []
    seen: dict[str, str] = {}
    for where, raw in entries:
        question = parse_question(raw, f"{path}: {where}")
        if question.id in seen:
            raise DatasetError(
                f"{path}: {where} (id {question.id}): duplicate id, first at {seen[question.id]}"
            )
        seen[question.id] = where
        questions.append(question)
    if not questions:
        raise DatasetError(f"{path}: the question set is empty")
    return questions


def _jsonl_entries(path: Path, text: str) -> list[tuple[str, Any]]:
    entries: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entries.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: line {number}: invalid JSON: {exc.msg}") from None
    return entries


def _yaml_entries(path: Path, text: str) -> list[tuple[str, Any]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise DatasetError(f"{path}: {where}invalid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise DatasetError(f"{path}: a YAML question set must be a list of questions")
    return [(f"entry {i}", item) for i, item in enumerate(data, start=1)]


def parse_question(raw: Any, where: str) -> EvalQuestion:
    """Validate one raw entry; ``where`` (file and line) prefixes every error message."""
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected an object, got {type(raw).__name__}")
    qid = raw.get("id")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise DatasetError(f"{where}: 'id' is missing or empty")
    qid = str(qid).strip()
    label = f"{where} (id {qid})"
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise DatasetError(
            f"{label}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}"
        )
    question = raw.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{label}: 'question' must be a non-empty string")
    answerable = raw.get("answerable", True)
    if not isinstance(answerable, bool):
        raise DatasetError(f"{label}: 'answerable' must be true or false")
    audience = raw.get("audience") or "public"
    if audience not in AUDIENCES:
        raise DatasetError(f"{label}: 'audience' must be one of {', '.join(AUDIENCES)}")
    return EvalQuestion(
        id=qid,
        question=question.strip(),
        expected_sources=tuple(_strings(raw.get("expected_sources"), "expected_sources", label)),
        expected_answer_contains=_groups(raw.get("expected_answer_contains"), label),
        answerable=answerable,
        audience=audience,
        filters=_filters(raw.get("filters"), label),
        history=tuple(_history(raw.get("history"), label)),
        conversation=str(raw.get("conversation") or ""),
        notes=str(raw.get("notes") or ""),
    )


def _strings(value: Any, name: str, label: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DatasetError(f"{label}: '{name}' must be a list of non-empty strings")
    return [v.strip() for v in value]


def _groups(value: Any, label: str) -> tuple[tuple[str, ...], ...]:
    """Groups of alternatives; a bare string is a group of one."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DatasetError(f"{label}: 'expected_answer_contains' must be a list of groups")
    groups: list[tuple[str, ...]] = []
    for number, group in enumerate(value, start=1):
        items = [group] if isinstance(group, str | int) else group
        if isinstance(items, list):
            # YAML reads an unquoted 2040 as a number; whole numbers are safe to take as text.
            items = [str(s) if isinstance(s, int) and not isinstance(s, bool) else s for s in items]
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(s, str) and s.strip() for s in items)
        ):
            raise DatasetError(
                f"{label}: group {number} of 'expected_answer_contains' must be a non-empty "
                "list of non-empty strings"
            )
        groups.append(tuple(s.strip() for s in items))
    return tuple(groups)


def _filters(value: Any, label: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DatasetError(f"{label}: 'filters' must be an object")
    unknown = sorted(set(value) - FILTER_KEYS)
    if unknown:
        raise DatasetError(
            f"{label}: unknown filter(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(FILTER_KEYS))}"
        )
    filters: dict[str, Any] = {}
    for key, item in value.items():
        if item in (None, "", []):
            continue
        if key == "type":
            kinds = [item] if isinstance(item, str) else item
            if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
                raise DatasetError(f"{label}: filter 'type' must be a string or list of strings")
            _check_types(kinds, label)
            filters[key] = item
        elif key in ("since", "until"):
            filters[key] = _date_text(item, key, label)
        elif isinstance(item, str):
            filters[key] = item.strip()
        else:
            raise DatasetError(f"{label}: filter {key!r} must be a string")
    return filters


def _check_types(kinds: Sequence[str], label: str) -> None:
    from chatbot.retrieval import type_codes

    try:
        type_codes(kinds)
    except ValueError as exc:
        raise DatasetError(f"{label}: filter 'type': {exc}") from None


def _date_text(value: Any, key: str, label: str) -> str:
    if isinstance(value, date):  # YAML parses unquoted dates
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise DatasetError(f"{label}: filter {key!r} must be a date YYYY-MM-DD, got {value!r}")


def _as_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _history(value: Any, label: str) -> list[str]:
    """Earlier questions: strings, or objects with a ``question`` key."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise DatasetError(f"{label}: 'history' must be a list of earlier questions")
    questions: list[str] = []
    for item in value:
        text = item.get("question") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text.strip():
            raise DatasetError(f"{label}: every 'history' entry must be a non-empty question")
        questions.append(text.strip())
    return questions


# --- gold documents ----------------------------------------------------------------------
@dataclass(frozen=True)
class IndexedDocument:
    """What an ``expected_sources`` entry can match: file name, document id, reference."""

    document_id: str
    source: str = ""
    reference: str = ""
    title: str = ""

    @property
    def file_name(self) -> str:
        """The basename of the source path or URL."""
        return source_basename(self.source)

    def label(self) -> str:
        """A short human name: the reference number, else the file name, else the id."""
        return self.reference or self.file_name or self.document_id


def source_basename(source: str) -> str:
    """``/a/b/BV-0123.pdf`` → ``BV-0123.pdf``; also for URLs and Windows paths."""
    if not source:
        return ""
    path = urlsplit(source).path if "://" in source else source
    return PurePosixPath(path.replace("\\", "/")).name


def _key(value: str) -> str:
    return re.sub(r"\s+", "", value).casefold()


def matches_source(expected: str, document: IndexedDocument) -> bool:
    """True when ``expected`` names the document by file name, document id or reference."""
    key = _key(expected)
    if not key:
        return False
    names = (document.file_name, document.document_id, document.reference)
    return any(name and _key(name) == key for name in names)


class DocumentCatalog:
    """The indexed documents, to turn ``expected_sources`` into gold document ids."""

    def __init__(self, documents: Iterable[IndexedDocument]) -> None:
        self.documents = {d.document_id: d for d in documents}

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> DocumentCatalog:
        """Build from ``DocumentService.list_sources()`` rows."""
        return cls(
            IndexedDocument(
                document_id=str(row["document_id"]),
                source=str(row.get("source") or ""),
                reference=str(row.get("reference") or ""),
                title=str(row.get("title") or ""),
            )
            for row in rows
        )

    def gold(self, expected: Sequence[str]) -> tuple[set[str], list[str]]:
        """Document ids matching any expected entry, and the entries that match none."""
        ids: set[str] = set()
        unmatched: list[str] = []
        for entry in expected:
            found = {d.document_id for d in self.documents.values() if matches_source(entry, d)}
            if not found:
                unmatched.append(entry)
            ids |= found
        return ids, unmatched

    def label(self, document_id: str) -> str:
        """The reference (or file name) of a document id, for messages."""
        document = self.documents.get(document_id)
        return document.label() if document else document_id
