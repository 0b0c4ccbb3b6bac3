"""Structure-aware chunking sized in the embedding model's own tokens.

Blocks (headings, paragraphs, list items) are packed into chunks that never exceed the model's
input limit, so that nothing is silently truncated at embedding time. A block that is too long
is split at sentence boundaries; only a single over-long sentence is cut at word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from chatbot.analysis import split_sentences
from chatbot.domain import PageText

TokenCounter = Callable[[str], int]

_NUMBERED_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.|[a-z]\))\s+\S")
_LABEL_HEADING = re.compile(r"^[A-ZÄÖÜ][\wÄÖÜäöüß /-]{1,60}:$")
_LIST_ITEM = re.compile(r"^(?:[-•*–]|\d+[.)]|[a-z][.)])\s+")


@dataclass(frozen=True)
class Block:
    """A unit of document structure: a heading, a paragraph or a list item."""

    text: str
    page: int | None
    heading: bool = False


@dataclass(frozen=True)
class TextChunk:
    """One chunk: its text, the page it starts on and the section heading it belongs to."""

    text: str
    page: int | None
    section: str


def blocks_from_pages(pages: list[PageText]) -> list[Block]:
    """Turn cleaned pages into structural blocks in reading order."""
    blocks: list[Block] = []
    for page in pages:
        for paragraph in re.split(r"\n\s*\n", page.text):
            lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
            blocks.extend(_blocks_from_lines(lines, page.number))
    return blocks


def _blocks_from_lines(lines: list[str], page: int | None) -> Iterator[Block]:
    buffer: list[str] = []
    for line in lines:
        if _is_heading(line):
            if buffer:
                yield Block(" ".join(buffer), page)
                buffer = []
            yield Block(line.lstrip("#").strip(), page, heading=True)
        elif _LIST_ITEM.match(line):
            if buffer:
                yield Block(" ".join(buffer), page)
            buffer = [line]
        else:
            buffer.append(line)
    if buffer:
        yield Block(" ".join(buffer), page)


def _is_heading(line: str) -> bool:
    if line.startswith("#"):
        return True
    if len(line) > 80 or line.endswith((".", ",", ";")):
        return False
    return bool(_LABEL_HEADING.match(line) or (_NUMBERED_HEADING.match(line) and len(line) < 60))


def chunk_pages(
    pages: list[PageText],
    count_tokens: TokenCounter,
    max_tokens: int,
    overlap_tokens: int = 0,
) -> list[TextChunk]:
    """Chunk cleaned pages so that no chunk exceeds ``max_tokens`` under ``count_tokens``."""
    if max_tokens < 16:
        raise ValueError("max_tokens must be at least 16")
    overlap_tokens = min(overlap_tokens, max_tokens // 4)
    packer = _Packer(count_tokens, max_tokens, overlap_tokens)
    section = ""
    for block in blocks_from_pages(pages):
        if block.heading:
            packer.flush()
            section = block.text.rstrip(":")
            packer.start_section(block.text)
            continue
        for i, piece in enumerate(_fitting_pieces(block.text, count_tokens, max_tokens)):
            packer.add(piece, block.page, section, same_block=i > 0)
    packer.flush()
    return packer.chunks


def _fitting_pieces(text: str, count_tokens: TokenCounter, max_tokens: int) -> Iterator[str]:
    """The block itself if it fits, else its sentences, cutting only over-long sentences."""
    if count_tokens(text) <= max_tokens:
        yield text
        return
    for sentence in split_sentences(text):
        if count_tokens(sentence) <= max_tokens:
            yield sentence
        else:
            yield from _split_words(sentence, count_tokens, max_tokens)


def _split_words(sentence: str, count_tokens: TokenCounter, max_tokens: int) -> Iterator[str]:
    words = sentence.split()
    current: list[str] = []
    for word in words:
        if current and count_tokens(" ".join([*current, word])) > max_tokens:
            yield " ".join(current)
            current = []
        current.append(word)
    if current:
        yield " ".join(current)


class _Packer:
    """Greedily packs pieces into chunks, carrying trailing sentences as overlap.

    Word-piece counts add up over whitespace-separated text, so each piece is counted once and
    a chunk's size is the sum of its pieces (no re-tokenising of growing chunks).
    """

    def __init__(self, count_tokens: TokenCounter, max_tokens: int, overlap: int) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.chunks: list[TextChunk] = []
        self._pieces: list[tuple[str, int]] = []  # text (with its leading separator), tokens
        self._page: int | None = None
        self._section = ""
        self._fresh = 0  # pieces added since the last flush that are not overlap

    @property
    def _size(self) -> int:
        return sum(tokens for _, tokens in self._pieces)

    def start_section(self, heading: str) -> None:
        self._pieces = [(heading, self.count_tokens(heading))]
        self._fresh = 0

    def add(self, piece: str, page: int | None, section: str, same_block: bool = False) -> None:
        tokens = self.count_tokens(piece)
        # Sentences of one paragraph are joined by a space, paragraphs by a line break.
        piece = (" " if same_block else "\n") + piece
        if self._pieces and self._size + tokens > self.max_tokens:
            self._emit()
            self._pieces = self._overlap_tail()
            if self._size + tokens > self.max_tokens:
                self._pieces = []
        if not self._fresh:
            self._page = page
        self._pieces.append((piece, tokens))
        self._section = section
        self._fresh += 1

    def flush(self) -> None:
        self._emit()
        self._pieces = []

    def _emit(self) -> None:
        if self._fresh:
            text = "".join(piece for piece, _ in self._pieces).strip()
            self.chunks.append(TextChunk(text, self._page, self._section))
        self._fresh = 0

    def _overlap_tail(self) -> list[tuple[str, int]]:
        if not self.overlap or not self._pieces:
            return []
        tail: list[tuple[str, int]] = []
        for sentence in reversed(split_sentences(self._pieces[-1][0].strip())):
            tokens = self.count_tokens(sentence)
            if sum(t for _, t in tail) + tokens > self.overlap:
                break
            tail.insert(0, (sentence, tokens))
        return [("\n" + " ".join(s for s, _ in tail), sum(t for _, t in tail))] if tail else []
