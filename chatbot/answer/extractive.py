"""The default answer backend: no generative model, sentences quoted from the passages.

Each candidate sentence is scored by how much of the question's (IDF-weighted) content it
covers, whether it holds the kind of fact asked for (a date for "wann", an amount for "wie
viel"), and the rank of its passage. The best sentence must cover enough of the question, else
the answer is a refusal; up to two more sentences that add to it follow. Every sentence carries
the number of the passage it was taken from, so the answer is grounded by construction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from chatbot.analysis import content_stems, split_compound, split_sentences
from chatbot.answer.base import AnswerBackend, AnswerRequest
from chatbot.answer.registry import register_backend
from chatbot.condense import topic_words
from chatbot.domain import DECISIVE_SECTIONS
from chatbot.language import refusal
from chatbot.references import find_references
from chatbot.safety import data_sentences
from chatbot.settings import Settings

MIN_COVERAGE = 0.5
MAX_SENTENCES = 3
CONTEXT_CREDIT = 0.7
_MAX_CHARS = 600
# Words of "Was steht in …?" / "Worum geht es im Antrag …?" that name no topic.
_DOCUMENT_WORDS = frozenset(
    "steht stehen vorlage drucksache dokument inhalt worum geht beschlossen beschluss inhalt "
    "antrag anfrage antwort stellungnahme beschlussvorlage unterrichtungsvorlage niederschrift "
    "protokoll mitteilung sagt say says document about".split()
)
_LABEL_LINE = re.compile(r"^(?:Vorlage|Datum|Verfasser|Betreff|Gremienweg|Az\.|Anlage)\s*:", re.I)
_DATE = re.compile(
    r"\b\d{1,2}\.\s?(?:\d{1,2}\.\s?\d{2,4}|[A-ZÄÖÜ][a-zäöü]+\s\d{4})|\b(?:19|20)\d{2}\b"
)
_AMOUNT = re.compile(
    r"\d[\d.,]*\s?(?:Mio\.?|Millionen|Mrd\.?|Milliarden|Tsd\.?|€|Euro|EUR|%|Prozent)"
)
_COUNT = re.compile(r"\b\d[\d.,]*\b")
_PERSON = re.compile(r"\b(?:Herr|Frau|Dr\.|Oberbürgermeister\w*|Bürgermeister\w*|Fraktion)\b")
_ASKS_DATE = re.compile(
    r"\b(wann|seit wann|bis wann|datum|when|date|which year|welchem jahr)\b", re.I
)
_ASKS_AMOUNT = re.compile(
    r"\b(wie viel|wieviel|wie hoch|wie teuer|\w*kost\w*|\w*betr[äa]g\w*|\w*summe|höhe"
    r"|how much|cost\w*|budget)\b",
    re.I,
)
_ASKS_COUNT = re.compile(r"\b(wie viele|wieviele|anzahl|how many)\b", re.I)
_ASKS_LATEST = re.compile(
    r"\b(aktuell\w*|derzeit\w*|zuletzt|neueste\w*|jetzt|inzwischen|current\w*|latest|now)\b",
    re.I,
)
_ASKS_PERSON = re.compile(r"\b(wer|who|welche fraktion|which group)\b", re.I)


@dataclass
class _Candidate:
    text: str
    passage: int
    rank: int
    position: int
    coverage: float
    score: float
    stems: set[str]


class ExtractiveBackend(AnswerBackend):
    """Answers with the passages' own sentences, each cited; deterministic and fast."""

    name = "extractive"
    generative = False
    model_name = "extractive"

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the chosen sentences one by one, or the refusal."""
        chosen = self.select(request)
        if not chosen:
            yield refusal(request.language)
            return
        for i, candidate in enumerate(chosen):
            yield ("" if i == 0 else " ") + f"{candidate.text} [{candidate.passage}]"

    def select(self, request: AnswerRequest) -> list[_Candidate]:
        """The sentences that answer the question, best first; empty means refuse."""
        summary = self._summary_of_named_document(request)
        if summary:
            return summary
        weights = self._question_weights(request)
        if not weights:
            return []
        candidates = self._candidates(request, weights)
        if not candidates:
            return []
        candidates.sort(key=lambda c: c.score, reverse=True)
        pattern = _fact_pattern(request.question)
        if pattern is not None:
            # "Wie viele …?" is not answered by a sentence without a number: the documents
            # mention the topic but not the fact asked for.
            candidates = [c for c in candidates if pattern.search(c.text)]
        if not candidates or candidates[0].coverage < MIN_COVERAGE:
            return []
        best = candidates[0]
        chosen = [best]
        for candidate in candidates[1:]:
            if len(chosen) == MAX_SENTENCES:
                break
            if candidate.coverage < 0.6 * best.coverage or candidate.score < 0.6 * best.score:
                continue
            if any(_overlap(candidate.stems, c.stems) > 0.6 for c in chosen):
                continue
            chosen.append(candidate)
        return sorted(chosen, key=lambda c: (c.rank, c.position))

    def _summary_of_named_document(self, request: AnswerRequest) -> list[_Candidate]:
        """ "Was steht in BV/0123/2024?": the opening sentences of the decisive sections."""
        references = find_references(request.question)
        rest = [
            w
            for w in topic_words(request.question)
            if not find_references(w) and w.lower() not in _DOCUMENT_WORDS
        ]
        if not references or rest:
            return []
        named = [p for p in request.passages if p.chunk.metadata.get("reference") in references]
        named.sort(key=lambda p: int(p.chunk.metadata.get("chunk_index", 0)))
        named.sort(key=lambda p: str(p.chunk.metadata.get("section", "")) not in DECISIVE_SECTIONS)
        chosen: list[_Candidate] = []
        for passage in named:
            title = str(passage.chunk.metadata.get("title", ""))
            for position, sentence in enumerate(split_sentences(passage.text.replace("\n", " "))):
                if _answer_like(sentence, title) and len(chosen) < 2:
                    rank = request.passages.index(passage)
                    chosen.append(_Candidate(sentence, passage.n, rank, position, 1.0, 1.0, set()))
        return chosen

    def _question_weights(self, request: AnswerRequest) -> dict[str, float]:
        """Content stems of the question's topic words, compounds split, weighted by IDF."""
        passage_stems = {s for p in request.passages for s in content_stems(p.text)}
        vocabulary = set(request.term_weights) | passage_stems
        known = request.term_weights
        # A term the index has never seen (a rare word form) weighs like an average term;
        # a question made only of unseen terms covers nothing and is refused.
        unseen = sum(known.values()) / len(known) if known else 1.0
        weights: dict[str, float] = {}
        for word in topic_words(request.question):
            # German capitalises nouns: they carry the topic; verbs and adjectives weigh less.
            emphasis = 1.0 if word[:1].isupper() or word[:1].isdigit() else 0.5
            for term in content_stems(word):
                if term not in vocabulary and term.startswith("ge") and term[2:] in vocabulary:
                    term = term[2:]  # participle: "gekostet" → "kost"
                parts = [] if term in passage_stems else split_compound(term, vocabulary)
                for unit in parts or [term]:
                    weights[unit] = max(weights.get(unit, 0.0), emphasis * known.get(unit, unseen))
        return weights

    def _candidates(self, request: AnswerRequest, weights: dict[str, float]) -> list[_Candidate]:
        total = sum(weights.values())
        named = set(find_references(request.question))
        recency = _recency(request)
        wants_latest = bool(_ASKS_LATEST.search(request.question))
        candidates: list[_Candidate] = []
        for rank, passage in enumerate(request.passages):
            position = 0
            title = str(passage.chunk.metadata.get("title", ""))
            # The document's title is the sentence's context ("Die Gesamtkosten betragen
            # 14,1 Mio. Euro" in a Vorlage about the Grundschule Am Mühlbach).
            context = set(content_stems(title))
            for sentence in data_sentences(passage.text):
                position += 1
                if not _answer_like(sentence, title):
                    continue
                stems = set(content_stems(sentence))
                coverage = (
                    sum(
                        weights[t] * (1.0 if _covers(stems, t) else CONTEXT_CREDIT)
                        for t in weights
                        if _covers(stems, t) or _covers(context, t)
                    )
                    / total
                )
                bonus = _answer_type_bonus(request.question, sentence)
                if passage.chunk.metadata.get("reference") in named:
                    bonus += 0.15  # the question names this document
                # Later documents supersede earlier ones: prefer the newer of two statements.
                bonus += recency[passage.n] * (0.2 if wants_latest else 0.05)
                score = coverage + bonus + 0.05 / (rank + 1)
                candidates.append(
                    _Candidate(sentence, passage.n, rank, position, coverage, score, stems)
                )
        return candidates


def _answer_like(sentence: str, title: str) -> bool:
    """A sentence that can answer: not a heading, label, the title or a question."""
    if len(sentence) < 25 or len(sentence) > _MAX_CHARS or len(sentence.split()) < 5:
        return False
    if sentence.rstrip().endswith(("?", ":")) or _LABEL_LINE.match(sentence):
        return False
    return sentence.strip(" -") not in title


def _covers(stems: set[str], term: str) -> bool:
    """A sentence covers a term literally or as part of a compound.

    German compounds are head-final ("Grundschule" is a "Schule"), so a stem ending in the term
    counts, and so does one starting with it ("Schulgebäude" for "Schul-").
    """
    if term in stems:
        return True
    if len(term) < 4 or term.isdigit():
        return False
    return any(s.endswith(term) or s.startswith(term) for s in stems)


def _recency(request: AnswerRequest) -> dict[int, float]:
    """Each passage's document date scaled to 0 (oldest) … 1 (newest) among the passages."""
    dates = {p.n: int(p.chunk.metadata.get("date_int", 0) or 0) for p in request.passages}
    known = [d for d in dates.values() if d]
    if not known or max(known) == min(known):
        return dict.fromkeys(dates, 0.0)
    low, high = min(known), max(known)
    return {n: (d - low) / (high - low) if d else 0.0 for n, d in dates.items()}


def _fact_pattern(question: str) -> re.Pattern[str] | None:
    """The kind of fact a question asks for (an amount, a count, a date), if any."""
    if _ASKS_AMOUNT.search(question):
        return _AMOUNT
    if _ASKS_COUNT.search(question):
        return _COUNT
    if _ASKS_DATE.search(question):
        return _DATE
    return None


def _answer_type_bonus(question: str, sentence: str) -> float:
    """Reward sentences that hold the kind of fact the question asks for."""
    pattern = _fact_pattern(question)
    if pattern is not None:
        return 0.2 if pattern.search(sentence) else -0.1
    if _ASKS_PERSON.search(question):
        return 0.15 if _PERSON.search(sentence) else 0.0
    return 0.0


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


@register_backend("extractive")
def _create(settings: Settings) -> AnswerBackend:
    return ExtractiveBackend()
