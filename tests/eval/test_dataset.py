"""Question sets: JSONL and YAML loading, validation messages, gold-document matching."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from chatbot.answer.base import Turn
from eval.dataset import (
    DatasetError,
    DocumentCatalog,
    IndexedDocument,
    load_questions,
    matches_source,
    source_basename,
)

REPO = Path(__file__).resolve().parents[2]

BV = IndexedDocument(
    document_id="bv-0123-2024-sanierung-1a2b3c4d",
    source="/data/corpus/BV-0123-2024_sanierung-grundschule.pdf",
    reference="BV/0123/2024",
)


def write_jsonl(path: Path, *entries: dict) -> Path:
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in entries) + "\n")
    return path


def test_shipped_question_set_loads_with_follow_ups_and_filters() -> None:
    questions = load_questions(REPO / "eval" / "questions" / "sample.jsonl")

    assert len(questions) == 50
    by_id = {q.id: q for q in questions}
    assert by_id["q03"].turns()[0] == Turn(by_id["q01"].question)
    assert by_id["q28"].search_filters().since == date(2023, 1, 1)
    assert by_id["q26"].search_filters().doc_types == ["Beschlussvorlage"]
    assert by_id["q29"].search_filters().reference == "BV/0140/2024"
    assert not by_id["q39"].answerable
    assert by_id["q33"].audience == "staff"


def test_yaml_list_loads_the_same_objects_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        "- id: y1\n"
        "  question: Wie hoch ist der Fehlbetrag?\n"
        "  expected_sources: [BV/0140/2024]\n"
        "  expected_answer_contains: [['8,7 Mio', '8.7 million'], Ergebnishaushalt, [2025]]\n"
        "  filters: {since: 2024-01-01, type: BV}\n"
        "- id: y2\n"
        "  question: Wetter morgen?\n"
        "  answerable: false\n",
        encoding="utf-8",
    )

    first, second = load_questions(path)

    assert first.audience == "public"
    assert first.expected_answer_contains == (
        ("8,7 Mio", "8.7 million"),
        ("Ergebnishaushalt",),
        ("2025",),
    )
    assert first.search_filters().since == date(2024, 1, 1)
    assert first.search_filters().doc_types == ["BV"]
    assert second.answerable is False and second.expected_sources == ()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"id": "x1", "question": ""}, "line 2 (id x1): 'question' must be a non-empty string"),
        ({"id": "x1", "question": "?", "answerable": "yes"}, "'answerable' must be true or false"),
        ({"id": "x1", "question": "?", "audience": "admin"}, "'audience' must be one of"),
        ({"id": "x1", "question": "?", "expected_source": []}, "unknown field(s) expected_source"),
        ({"id": "x1", "question": "?", "filters": {"since": "2024-13-01"}}, "filter 'since'"),
        ({"id": "x1", "question": "?", "filters": {"type": "Zeitung"}}, "unknown document type"),
        ({"id": "x1", "question": "?", "filters": {"gremium": "Rat"}}, "unknown filter(s) gremium"),
        ({"id": "x1", "question": "?", "expected_answer_contains": [[]]}, "group 1"),
        ({"question": "?"}, "line 2: 'id' is missing"),
    ],
)
def test_invalid_entries_are_reported_with_line_and_id(
    tmp_path: Path, entry: dict, message: str
) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", {"id": "ok", "question": "Gut?"}, entry)

    with pytest.raises(DatasetError) as caught:
        load_questions(path)

    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_broken_json_and_duplicate_ids_name_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "a", "question": "?"}\n{"id": "b", \n')
    with pytest.raises(DatasetError, match="line 2: invalid JSON"):
        load_questions(broken)

    duplicate = write_jsonl(
        tmp_path / "dup.jsonl", {"id": "a", "question": "?"}, {"id": "a", "question": "!"}
    )
    with pytest.raises(DatasetError, match=r"line 2 \(id a\): duplicate id, first at line 1"):
        load_questions(duplicate)


def test_unknown_format_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")
    csv = tmp_path / "set.csv"
    csv.write_text("id,question\n")
    with pytest.raises(DatasetError, match=r"use \.jsonl or \.yaml"):
        load_questions(csv)


@pytest.mark.parametrize(
    "expected",
    [
        "BV-0123-2024_sanierung-grundschule.pdf",  # file name
        "bv-0123-2024-sanierung-1a2b3c4d",  # document id
        "BV/0123/2024",  # reference number
        "bv/0123/2024 ",  # reference, other case and stray space
    ],
)
def test_expected_source_matches_by_basename_id_or_reference(expected: str) -> None:
    assert matches_source(expected, BV)


def test_expected_source_does_not_match_other_documents() -> None:
    assert not matches_source("BV/0124/2024", BV)
    assert not matches_source("sanierung-grundschule.pdf", BV)
    assert not matches_source("", BV)


def test_catalog_resolves_gold_ids_and_reports_unmatched_entries() -> None:
    other = IndexedDocument("ni-0012", "https://ris.example/files/NI-0012-2024.txt", "NI/0012/2024")
    catalog = DocumentCatalog([BV, other])

    gold, unmatched = catalog.gold(["NI-0012-2024.txt", "BV/0123/2024", "AT/9999/2030"])

    assert gold == {BV.document_id, "ni-0012"}
    assert unmatched == ["AT/9999/2030"]
    assert catalog.label("ni-0012") == "NI/0012/2024"


def test_source_basename_handles_paths_urls_and_windows_paths() -> None:
    assert source_basename("/a/b/c.pdf") == "c.pdf"
    assert source_basename("https://ris.example/x/y.pdf?download=1") == "y.pdf"
    assert source_basename("C:\\ris\\z.docx") == "z.docx"
