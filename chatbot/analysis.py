"""German text analysis for lexical search and grounding: tokens, stems, compound parts.

Compounds are split against the index's own vocabulary of stems ("radverkehrskonzept" →
"radverkehr" + "konzept" when both occur in the corpus), so no dictionary is needed and the
splitter adapts to each city's vocabulary. Reference numbers stay whole tokens.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache
from importlib import resources

import Stemmer

from chatbot.references import find_references

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[\"„“(]?[A-ZÄÖÜ0-9])")
# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = re.compile(
    r"\b(?:z\.\s?B|u\.\s?a|d\.\s?h|bzw|ca|Nr|Abs|Art|gem|vgl|inkl|ggf|i\.\s?V|Mio|Mrd|Tsd|Str|"
    r"Dr|Prof|Hr|Fr|St|Az|o\.\s?g|u\.\s?U|evtl|sog|lt|Anl|S|Tel|Jan|Feb|Aug|Sept|Okt|Nov|Dez)\.$"
)
_MONTH_AHEAD = re.compile(
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November"
    r"|Dezember|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Nov|Dez)\b"
)
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß0-9]+(?:[-'][A-Za-zÄÖÜäöüß0-9]+)*")
_LINKING = ("", "s", "es", "n", "en", "e", "er")
MIN_PART = 4
MIN_COMPOUND = 8

STOPWORDS = frozenset(
    word
    for line in resources.files("chatbot.data")
    .joinpath("stopwords.txt")
    .read_text("utf-8")
    .splitlines()
    if not line.startswith("#")
    for word in line.split()
)

_stemmer = Stemmer.Stemmer("german")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The German Snowball stem of a lower-cased word (umlauts folded first)."""
    return str(_stemmer.stemWord(_fold(word)))


def _fold(word: str) -> str:
    return word.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")


def words(text: str) -> list[str]:
    """Lower-cased word tokens; hyphenated compounds yield the whole and each part."""
    tokens: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if "-" in word:
            parts = [p for p in word.split("-") if p]
            tokens.append(word.replace("-", ""))
            tokens.extend(parts)
        else:
            tokens.append(word)
    return tokens


def content_stems(text: str) -> list[str]:
    """Stems of the content words of ``text`` (stopwords and single characters dropped)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def reference_tokens(text: str) -> list[str]:
    """Reference numbers as index terms (``bv/0123/2024``), however they were typed."""
    return [reference.lower() for reference in find_references(text)]


def split_compound(token: str, vocabulary: Collection[str]) -> list[str]:
    """Split a stem into known stems (with German linking elements), or [] if it is no compound."""
    if len(token) < MIN_COMPOUND:
        return []
    return _split(token, vocabulary, depth=0) or []


def _split(token: str, vocabulary: Collection[str], depth: int) -> list[str] | None:
    if depth > 2:
        return None
    best: list[str] | None = None
    # Prefer the longest head part: "radverkehrskonzept" → "radverkehr" + "konzept".
    for cut in range(len(token) - MIN_PART, MIN_PART - 1, -1):
        head, rest = token[:cut], token[cut:]
        if head not in vocabulary:
            continue
        for link in _LINKING:
            if not rest.startswith(link):
                continue
            tail = rest[len(link) :]
            if len(tail) < MIN_PART:
                continue
            if tail in vocabulary:
                return [head, tail]
            deeper = _split(tail, vocabulary, depth + 1)
            if deeper and (best is None or len(deeper) + 1 < len(best)):
                best = [head, *deeper]
    return best


def base_terms(text: str) -> list[str]:
    """Vocabulary-independent terms: content stems and reference numbers."""
    return content_stems(text) + reference_tokens(text)


def compound_parts(terms: Iterable[str], vocabulary: Collection[str]) -> list[str]:
    """The known parts of every compound among ``terms``."""
    parts: list[str] = []
    if vocabulary:
        for term in terms:
            if "/" not in term:
                parts.extend(split_compound(term, vocabulary))
    return parts


def unique(items: Iterable[str]) -> list[str]:
    """Items without duplicates, order kept."""
    return list(dict.fromkeys(items))


def split_sentences(text: str) -> list[str]:
    """Split German prose into sentences, respecting common abbreviations and dates."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        if _ABBREVIATIONS.search(candidate) or (
            # "am 5. März", "zum 1. Januar": an ordinal, not a sentence end
            re.search(r"\b\d{1,2}\.$", candidate) and _MONTH_AHEAD.match(text, match.end())
        ):
            continue
        if candidate:
            sentences.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
