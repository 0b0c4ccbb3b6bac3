"""AskService: condense → retrieve → answer → cite; the CLI, the API and the evaluation use it.

The pipeline is a LangChain Runnable chain (``AskService.chain``) so that it can be invoked,
batched and traced like any LangChain chain; ``stream`` runs the same steps and yields tokens.
After generation every sentence is checked against the passages it cites: uncited or
unsupported sentences are dropped, and an answer with nothing left becomes a refusal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import Runnable, RunnableLambda

from chatbot.answer.base import AnswerBackend, AnswerRequest, Passage, Turn
from chatbot.container import Container
from chatbot.domain import Answer, Audience, Citation, visible_to
from chatbot.grounding import SupportChecker, split_answer
from chatbot.language import detect_language, is_refusal, refusal, with_german_terms
from chatbot.retrieval import RetrievedChunk, SearchFilters

log = logging.getLogger(__name__)

_SNIPPET_CHARS = 280


@dataclass
class AskOptions:
    """How to answer: for whom, within which filters, after which conversation."""

    audience: Audience = "public"
    filters: SearchFilters = field(default_factory=SearchFilters)
    history: Sequence[Turn] = ()
    k: int | None = None


@dataclass
class AskEvent:
    """A streamed piece of an answer: a token, or the final checked answer."""

    kind: Literal["token", "answer"]
    text: str = ""
    answer: Answer | None = None


@dataclass
class TimelineEntry:
    """One document in the history of a topic."""

    date: str
    doc_type: str
    reference: str
    title: str
    snippet: str
    citation: Citation
    most_recent: bool = False


@dataclass
class _State:
    question: str
    options: AskOptions
    started: float
    language: str = "de"
    standalone: str = ""
    passages: list[Passage] = field(default_factory=list)
    retrieved: list[RetrievedChunk] = field(default_factory=list)
    text: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class AskService:
    """Answers questions with citations from the index, for one audience at a time."""

    def __init__(self, container: Container, backend: AnswerBackend | None = None) -> None:
        self.container = container
        self.backend = backend or container.backend
        self.retriever = container.retriever
        self.checker = SupportChecker(container.embeddings)

    # --- public API ---------------------------------------------------------------------
    def chain(self) -> Runnable[dict[str, Any], Answer]:
        """The pipeline as a Runnable: {"question", "options"} → Answer."""
        return (
            RunnableLambda(self._prepare, name="condense_and_retrieve")
            | RunnableLambda(self._generate, name="answer")
            | RunnableLambda(self._finish, name="cite_and_check")
        )

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        """Answer one question (blocking)."""
        return self.chain().invoke({"question": question, "options": options or AskOptions()})

    def stream(self, question: str, options: AskOptions | None = None) -> Iterator[AskEvent]:
        """Answer one question as a stream of tokens followed by the checked answer."""
        state = self._prepare({"question": question, "options": options or AskOptions()})
        started = time.perf_counter()
        pieces: list[str] = []
        for token in self._tokens(state):
            pieces.append(token)
            yield AskEvent("token", token)
        state.text = "".join(pieces)
        state.timings["generate"] = _ms(started)
        yield AskEvent("answer", answer=self._finish(state))

    def timeline(self, question: str, options: AskOptions | None = None) -> list[TimelineEntry]:
        """The documents on a topic ordered by date, the most recent one marked."""
        state = self._prepare(
            {"question": question, "options": options or AskOptions()}, k=30, timeline=True
        )
        entries: dict[str, TimelineEntry] = {}
        for passage, item in zip(state.passages, state.retrieved, strict=True):
            if item.document_id in entries or not _relevant(item):
                continue
            citation = _citation(passage, item)
            entries[item.document_id] = TimelineEntry(
                date=citation.date,
                doc_type=citation.doc_type,
                reference=citation.reference,
                title=citation.title,
                snippet=citation.snippet,
                citation=citation,
            )
        ordered = sorted(entries.values(), key=lambda e: (e.date or "0000", e.reference))
        dated = [e for e in ordered if e.date]
        if dated:
            dated[-1].most_recent = True
        return ordered

    # --- steps --------------------------------------------------------------------------
    def _prepare(
        self, inputs: dict[str, Any], k: int | None = None, timeline: bool = False
    ) -> _State:
        state = _State(inputs["question"].strip(), inputs["options"], time.perf_counter())
        options = state.options
        state.language = detect_language(state.question)
        state.standalone = (
            self.backend.condense(state.question, options.history)
            if options.history
            else state.question
        )
        if state.language == "en":
            state.standalone = with_german_terms(state.standalone)
        started = time.perf_counter()
        retrieved = self.retriever.retrieve(
            state.standalone,
            audience=options.audience,
            filters=options.filters,
            k=k or options.k or self.container.settings.top_k,
            mode="hybrid",
        )
        state.retrieved = _in_scope(retrieved, options.audience)
        state.passages = [
            Passage(n=i + 1, chunk=item.chunk, score=item.score)
            for i, item in enumerate(state.retrieved)
        ]
        state.timings["retrieve"] = _ms(started)
        return state

    def _tokens(self, state: _State) -> Iterator[str]:
        if not state.passages:
            yield refusal(state.language)
            return
        index = self.retriever.lexical.index()
        request = AnswerRequest(
            question=state.standalone,
            passages=state.passages,
            audience=state.options.audience,
            language=state.language,
            history=state.options.history,
            term_weights={
                t: index.idf(t)
                for t in index.query_terms(state.standalone)
                if index.document_frequency(t)
            },
        )
        yield from self.backend.stream(request)

    def _generate(self, state: _State) -> _State:
        started = time.perf_counter()
        state.text = "".join(self._tokens(state))
        state.timings["generate"] = _ms(started)
        return state

    def _finish(self, state: _State) -> Answer:
        text, citations = self._checked(state)
        state.timings["total"] = _ms(state.started)
        return Answer(
            text=text or refusal(state.language),
            refused=not citations,
            citations=citations,
            timings_ms=state.timings,
            question=state.question,
            standalone_question=state.standalone,
            retrieved_documents=list(dict.fromkeys(r.document_id for r in state.retrieved)),
        )

    def _checked(self, state: _State) -> tuple[str, list[Citation]]:
        """Keep the sentences that cite passages which support them; number the sources."""
        if not state.passages or is_refusal(state.text):
            return "", []
        by_number = {p.n: p for p in state.passages}
        items = {p.n: item for p, item in zip(state.passages, state.retrieved, strict=True)}
        kept: list[str] = []
        cited: dict[int, Citation] = {}
        for sentence in split_answer(state.text):
            numbers = [n for n in dict.fromkeys(sentence.citations) if n in by_number]
            if not numbers:
                continue
            evidence = [by_number[n].text for n in numbers]
            if not self.checker.support(sentence.text, evidence).supported:
                log.info("dropped an unsupported sentence (citations %s)", numbers)
                continue
            kept.append(sentence.text + " " + "".join(f"[{n}]" for n in numbers))
            for n in numbers:
                cited.setdefault(n, _citation(by_number[n], items[n]))
        return " ".join(kept), [cited[n] for n in sorted(cited)]


def _in_scope(retrieved: list[RetrievedChunk], audience: Audience) -> list[RetrievedChunk]:
    """Defence in depth: the store query already scoped by audience; never let one through."""
    allowed = visible_to(audience)
    kept = [r for r in retrieved if r.chunk.metadata.get("visibility") in allowed]
    if len(kept) != len(retrieved):
        log.error(
            "retrieval returned %d chunks outside the audience scope", len(retrieved) - len(kept)
        )
    return kept


def _relevant(item: RetrievedChunk) -> bool:
    return item.via_reference or item.lexical_score > 0 or item.dense_score >= 0.35


def _citation(passage: Passage, item: RetrievedChunk) -> Citation:
    meta = passage.chunk.metadata
    page = int(meta.get("page", 0) or 0) or None
    text = " ".join(passage.text.split())
    return Citation(
        n=passage.n,
        document_id=str(meta.get("document_id", "")),
        chunk_id=str(passage.chunk.id),
        title=str(meta.get("title", "")),
        reference=str(meta.get("reference", "")),
        date=str(meta.get("date", "")),
        doc_type=str(meta.get("doc_type", "")),
        page=page,
        source=str(meta.get("source", "")),
        url=str(meta.get("url", "")),
        score=round(item.score, 4),
        snippet=text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…",
        visibility=meta.get("visibility", "public"),
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
