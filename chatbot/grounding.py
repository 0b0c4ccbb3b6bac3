"""Sentence-level support checks, shared by the refusal logic and the evaluation.

Offline approximation of "is this sentence entailed by what it cites": content-word overlap
after German stemming (with compound parts), every number in the sentence present in the
evidence, and — when an embedder is given — embedding similarity to the closest evidence
sentence. Labelled as such in reports; an NLI model or LLM judge can replace it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chatbot.analysis import compound_parts, content_stems, split_compound, split_sentences
from chatbot.embedding import CountingEmbeddings
from chatbot.safety import data_sentences

CITATION = re.compile(r"\s*\[(\d{1,2})\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
LEXICAL_SUPPORT = 0.6
LEXICAL_WITH_SEMANTIC = 0.4
SEMANTIC_SUPPORT = 0.55
METHOD = "offline: stemmed content-word overlap + numbers + MiniLM cosine"


@dataclass
class Support:
    """How well evidence supports one sentence."""

    supported: bool
    lexical: float
    semantic: float | None
    reason: str


@dataclass
class AnswerSentence:
    """One sentence of an answer with the passage numbers it cites."""

    text: str
    citations: list[int]


def split_answer(text: str) -> list[AnswerSentence]:
    """Split an answer into sentences and attach each [n] marker to the sentence before it."""
    sentences: list[AnswerSentence] = []
    for line in text.splitlines():
        for raw in split_sentences(_markers_after_punctuation(line.strip())):
            citations = [int(n) for n in CITATION.findall(raw)]
            bare = CITATION.sub("", raw).strip()
            if not bare and sentences:
                sentences[-1].citations.extend(citations)
            elif bare:
                sentences.append(AnswerSentence(bare, citations))
    return sentences


def _markers_after_punctuation(text: str) -> str:
    """Move "[1]" written after the full stop before it, so it stays with its sentence."""
    return re.sub(r"([.!?:;])((?:\s*\[\d{1,2}\])+)", r"\2\1", text)


def numbers(text: str) -> set[str]:
    """Numbers in a text, normalised (thousands separators dropped)."""
    return {n.replace(".", "").rstrip(",") for n in _NUMBER.findall(text)}


class SupportChecker:
    """Checks answer sentences against the passages they cite."""

    def __init__(self, embeddings: CountingEmbeddings | None = None) -> None:
        self.embeddings = embeddings

    def support(self, sentence: str, evidence: Sequence[str]) -> Support:
        """Whether ``evidence`` (the cited passages) supports ``sentence``."""
        if not evidence:
            return Support(False, 0.0, None, "no citation")
        # Instructions hidden in documents are data: they never support an answer.
        joined = "\n".join(sentence for passage in evidence for sentence in data_sentences(passage))
        evidence_stems = set(content_stems(joined))
        sentence_stems = set(content_stems(sentence))
        if not sentence_stems:
            return Support(True, 1.0, None, "no content words")
        # Compounds count as found when their parts are: "Schulsanierung" ~ "Sanierung der Schule".
        vocabulary = evidence_stems | set(compound_parts(evidence_stems, sentence_stems))
        covered = {s for s in sentence_stems if s in vocabulary or split_compound(s, vocabulary)}
        lexical = len(covered) / len(sentence_stems)
        missing_numbers = numbers(sentence) - numbers(joined)
        if missing_numbers:
            return Support(
                False, lexical, None, f"number not in source: {', '.join(sorted(missing_numbers))}"
            )
        if lexical >= LEXICAL_SUPPORT:
            return Support(True, lexical, None, "content words found in source")
        semantic = self._semantic(sentence, joined)
        if (
            semantic is not None
            and lexical >= LEXICAL_WITH_SEMANTIC
            and semantic >= SEMANTIC_SUPPORT
        ):
            return Support(True, lexical, semantic, "paraphrase of source")
        return Support(
            False,
            lexical,
            semantic,
            f"only {lexical:.0%} of its content words occur in the cited source",
        )

    def _semantic(self, sentence: str, evidence: str) -> float | None:
        if self.embeddings is None:
            return None
        candidates = [s for s in split_sentences(evidence.replace("\n", " ")) if s][:40]
        if not candidates:
            return None
        vectors = np.asarray(self.embeddings.embed_documents([sentence, *candidates]))
        return float(np.max(vectors[1:] @ vectors[0]))
