"""Rule-based condensing of follow-up questions into standalone ones.

"Und wann wurde das beschlossen?" after "Wie teuer wird die Sanierung der Grundschule?" becomes
"Und wann wurde das beschlossen? (Sanierung Grundschule)": the follow-up keeps its own words
and borrows the topic words of the last question that had a topic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from chatbot.analysis import STOPWORDS, words
from chatbot.references import find_references

if TYPE_CHECKING:
    from chatbot.answer.base import Turn

_ANAPHORA = frozenset(
    "das dies diese dieser dieses dessen deren dafür dazu davon damit darüber daran er sie "
    "es ihm ihr it this that these those they them its their there ".split()
)
_FOLLOW_UP_START = re.compile(
    r"^\s*(und|aber|also|außerdem|auch|und was|and|also|what about|how about|but)\b", re.I
)
_QUESTION_WORDS = frozenset(
    "wann wie wer was wo warum wieso weshalb welche welcher welches welchen welchem wieviel "
    "wieviele viel viele vielen hoch hohe hoher teuer lange seit "
    "when how who what where why which much many ".split()
)


def topic_words(question: str) -> list[str]:
    """The content words of a question: neither stopwords nor question words."""
    return [
        w
        for w in re.findall(r"[\wÄÖÜäöüß/-]+", question)
        if w.lower() not in STOPWORDS
        and w.lower() not in _QUESTION_WORDS
        and w.lower() not in _ANAPHORA
        and len(w) > 2
    ]


def is_follow_up(question: str) -> bool:
    """A question that leans on an earlier one: starts with "Und …", refers back, or is bare."""
    if find_references(question):
        return False
    tokens = {w for w in words(question)}
    return bool(
        _FOLLOW_UP_START.match(question) or tokens & _ANAPHORA or len(topic_words(question)) < 2
    )


def condense_rule_based(question: str, history: Sequence[Turn]) -> str:
    """The standalone form of ``question`` given earlier turns (unchanged if not a follow-up)."""
    if not history or not is_follow_up(question):
        return question
    for turn in reversed(history):
        topic = topic_words(turn.question)
        if topic:
            own = {w.lower() for w in topic_words(question)}
            borrowed = [w for w in topic if w.lower() not in own]
            return f"{question.strip()} ({' '.join(borrowed)})" if borrowed else question
    return question
