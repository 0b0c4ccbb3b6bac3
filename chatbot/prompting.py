"""Prompts for generative backends: templates from ``prompts/``, passages packed into a budget.

Each template file holds the system prompt, a line ``<!-- user -->`` and the user message
(``string.Template`` placeholders ``$passages`` and ``$question``, or ``$history`` for condense).
Passages are rendered as quoted data between ``<passage>`` tags; any tag-like text inside a
passage is neutralised so that a document cannot close the quote and speak as an instruction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from chatbot.answer.base import AnswerRequest, Passage, Turn
from chatbot.domain import Audience, chunk_page
from chatbot.errors import ConfigurationError
from chatbot.tokens import count_tokens, truncate_to_tokens

REFUSAL_DE = "Dazu habe ich in den vorliegenden Dokumenten keine Information gefunden."
REFUSAL_EN = "I could not find information on this in the available documents."

USER_SEPARATOR = "<!-- user -->"
PASSAGE_SEPARATOR = "\n\n"
NO_PASSAGES = "(keine Auszüge / no passages)"
COMPLETION_CUE = "Antwort:"
# Where a model without chat template starts to invent the next question or passage.
COMPLETION_STOP = ("\nFrage:", "\nQuestion:", "\nFolgefrage:", "\n\n[", "<passage", "</passage")
TRUNCATION_MARK = " […]"
MIN_TRUNCATED_TOKENS = 48  # a shorter remnant of a passage is noise, not evidence
HISTORY_TURNS = 3
HISTORY_ANSWER_TOKENS = 120

_TEMPLATE_FOR: dict[Audience, str] = {"public": "citizen", "staff": "staff"}
_TAG_LIKE = re.compile(r"<(\s*/?\s*passage)", re.IGNORECASE)


@dataclass(frozen=True)
class PromptTemplate:
    """A system prompt and the user message it frames."""

    name: str
    system: str
    user: Template


@dataclass(frozen=True)
class PackedPassage:
    """A passage chosen for the prompt, with its (possibly shortened) text."""

    passage: Passage
    text: str
    truncated: bool = False

    def render(self) -> str:
        """Header line, then the text between passage tags."""
        return render_passage(self.passage, self.text, truncated=self.truncated)


@cache
def load_template(name: str) -> PromptTemplate:
    """The template ``prompts/<name>.md``; ConfigurationError when missing or malformed."""
    resource = files("prompts").joinpath(f"{name}.md")
    if not resource.is_file():
        raise ConfigurationError(f"prompt template prompts/{name}.md does not exist")
    raw = resource.read_text(encoding="utf-8")
    system, separator, user = raw.partition(USER_SEPARATOR)
    if not separator:
        raise ConfigurationError(f"prompts/{name}.md lacks the line {USER_SEPARATOR}")
    return PromptTemplate(name=name, system=system.strip(), user=Template(user.strip()))


def template_for(audience: Audience) -> PromptTemplate:
    """The answer template for an audience: plain language for citizens, detail for staff."""
    return load_template(_TEMPLATE_FOR[audience])


def _clean_field(value: object) -> str:
    # Header fields come from documents too: one line, no tags.
    return _TAG_LIKE.sub(r"‹\1", " ".join(str(value or "").split()))


def passage_header(passage: Passage) -> str:
    """``[1] BV/0123/2024 · Beschlussvorlage · 2024-03-04 · S. 2 — Title``."""
    meta = passage.chunk.metadata
    page = chunk_page(passage.chunk)
    fields = [
        _clean_field(meta.get("reference")),
        _clean_field(meta.get("doc_type")),
        _clean_field(meta.get("date")),
        f"S. {page}" if page else "",
    ]
    header = " · ".join(f for f in fields if f)
    title = _clean_field(meta.get("title") or meta.get("source"))
    if title:
        header = f"{header} — {title}" if header else title
    return f"[{passage.n}] {header}".rstrip()


def render_passage(passage: Passage, text: str | None = None, *, truncated: bool = False) -> str:
    """One passage as quoted data: its header, then its text inside ``<passage>`` tags."""
    body = _TAG_LIKE.sub(r"‹\1", (passage.text if text is None else text).strip())
    if truncated:
        body += TRUNCATION_MARK
    return f'{passage_header(passage)}\n<passage nr="{passage.n}">\n{body}\n</passage>'


def _passage_cost(passage: Passage, text: str, *, truncated: bool = False) -> int:
    return count_tokens(render_passage(passage, text, truncated=truncated) + PASSAGE_SEPARATOR)


def pack_passages(passages: Sequence[Passage], budget_tokens: int) -> list[PackedPassage]:
    """The best passages (by score) that fit ``budget_tokens``, in citation order.

    Whole passages go first, best first; the room left then takes shortened versions of the
    best passages that did not fit (cut at a word boundary, never in the header). Passages
    keep their numbers, so [n] stays valid.
    """
    chosen: list[PackedPassage] = []
    left_out: list[Passage] = []
    remaining = budget_tokens
    for passage in sorted(passages, key=lambda p: (-p.score, p.n)):
        text = passage.text.strip()
        cost = _passage_cost(passage, text)
        if cost <= remaining:
            chosen.append(PackedPassage(passage, text))
            remaining -= cost
        else:
            left_out.append(passage)
    for passage in left_out:
        room = remaining - _passage_cost(passage, "", truncated=True)
        if room < MIN_TRUNCATED_TOKENS:
            continue
        short = truncate_to_tokens(passage.text.strip(), room)
        if short:
            chosen.append(PackedPassage(passage, short, truncated=True))
            remaining -= _passage_cost(passage, short, truncated=True)
    chosen.sort(key=lambda p: p.passage.n)
    # Costs are summed per passage; BPE merges across joins can shift the total by a token.
    while chosen and count_tokens(render_passages(chosen)) > budget_tokens:
        chosen.remove(min(chosen, key=lambda p: (p.passage.score, -p.passage.n)))
    return chosen


def render_passages(packed: Sequence[PackedPassage]) -> str:
    """The passage block of the prompt."""
    return PASSAGE_SEPARATOR.join(p.render() for p in packed) if packed else NO_PASSAGES


def build_messages(request: AnswerRequest, *, budget_tokens: int) -> list[BaseMessage]:
    """System prompt for the audience, then the packed passages and the question."""
    template = template_for(request.audience)
    passages = render_passages(pack_passages(request.passages, budget_tokens))
    user = template.user.substitute(passages=passages, question=request.question.strip())
    return [SystemMessage(content=template.system), HumanMessage(content=user)]


def render_history(history: Sequence[Turn]) -> str:
    """The last few turns as plain text, long answers shortened."""
    lines: list[str] = []
    for turn in list(history)[-HISTORY_TURNS:]:
        lines.append(f"Frage: {' '.join(turn.question.split())}")
        if turn.answer:
            answer = truncate_to_tokens(" ".join(turn.answer.split()), HISTORY_ANSWER_TOKENS)
            lines.append(f"Antwort: {answer}")
    return "\n".join(lines) if lines else "(kein bisheriges Gespräch)"


def build_condense_messages(question: str, history: Sequence[Turn]) -> list[BaseMessage]:
    """Messages asking a model to rewrite a follow-up into a standalone question."""
    template = load_template("condense")
    user = template.user.substitute(history=render_history(history), question=question.strip())
    return [SystemMessage(content=template.system), HumanMessage(content=user)]


def message_text(message: BaseMessage) -> str:
    """The plain text of a message (text blocks joined)."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = [
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or block.get("type") == "text"
    ]
    return "".join(parts)


def render_completion_prompt(messages: Sequence[BaseMessage]) -> str:
    """One plain-text prompt for completion endpoints and base models without a chat template.

    Ends with the cue ``Antwort:`` unless the last message already ends with a cue (``…:``).
    """
    blocks: list[str] = []
    for message in messages:
        text = message_text(message).strip()
        if isinstance(message, AIMessage):
            text = f"{COMPLETION_CUE} {text}"
        blocks.append(text)
    prompt = "\n\n".join(b for b in blocks if b)
    if not prompt.endswith(":"):
        prompt += f"\n\n{COMPLETION_CUE}"
    return prompt
