"""Chunks respect the embedding model's limit and the document's structure."""

from __future__ import annotations

import pytest

from chatbot.domain import PageText
from chatbot.embedding import get_embeddings
from ingest.chunking import chunk_pages


def words(text: str) -> int:
    return len(text.split())


def test_no_chunk_exceeds_the_limit_and_sentences_stay_whole() -> None:
    sentences = [f"Satz Nummer {i} beschreibt die Sanierung der Grundschule." for i in range(60)]
    pages = [PageText(1, " ".join(sentences[:30])), PageText(2, " ".join(sentences[30:]))]
    chunks = chunk_pages(pages, words, max_tokens=40, overlap_tokens=0)
    assert all(words(c.text) <= 40 for c in chunks)
    for chunk in chunks:
        assert chunk.text.startswith("Satz Nummer") and chunk.text.endswith("Grundschule.")
    assert {c.page for c in chunks} == {1, 2}


def test_headings_become_sections_of_the_chunks_below_them() -> None:
    text = (
        "Beschlussempfehlung:\n\nDer Rat beschließt den Neubau.\n\n"
        "Begründung:\n\nDas alte Bad ist marode. Eine Sanierung wäre teurer."
    )
    chunks = chunk_pages([PageText(None, text)], words, max_tokens=50)
    assert [c.section for c in chunks] == ["Beschlussempfehlung", "Begründung"]
    assert chunks[1].text.startswith("Begründung:")


def test_an_overlong_sentence_is_cut_at_word_boundaries() -> None:
    text = " ".join(f"Wort{i}" for i in range(100)) + "."
    chunks = chunk_pages([PageText(None, text)], words, max_tokens=30)
    assert all(words(c.text) <= 30 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()


def test_overlap_repeats_the_last_sentence_of_the_previous_chunk() -> None:
    text = " ".join(f"Dies ist der Satz {i}." for i in range(30))
    chunks = chunk_pages([PageText(None, text)], words, max_tokens=30, overlap_tokens=6)
    last_sentence = chunks[0].text.split(". ")[-1]
    assert chunks[1].text.startswith(last_sentence.rstrip("."))


@pytest.mark.slow
def test_german_chunks_fit_minilm_word_pieces() -> None:
    model = get_embeddings("all-MiniLM-L6-v2")
    prose = (
        "Die Generalsanierung der Grundschule Am Mühlbach umfasst die energetische Ertüchtigung "
        "der Gebäudehülle, die Erneuerung der Haustechnik und den Anbau einer Mensa. "
    ) * 40
    chunks = chunk_pages([PageText(1, prose)], model.count_tokens, model.max_tokens)
    assert len(chunks) > 3
    assert all(model.count_tokens(c.text) <= model.max_tokens for c in chunks)
