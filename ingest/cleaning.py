"""Cleaning of text extracted from council (RIS) exports before metadata and chunking.

The result keeps the structure chunking relies on: paragraphs separated by one blank line,
lines of a list or table separated by a single line break.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from collections import Counter

from chatbot.domain import PageText

# --- characters -------------------------------------------------------------------------------
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
     "\u2010": "-", "\u2011": "-"}
)  # fmt: skip
_UNICODE_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v]")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# A soft hyphen at a line end marks a word division and nothing else: always join.
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n(?:[ \t]*\n){0,2}[ \t]*")
_PRIVATE_USE_BULLET = re.compile(r"^[ \t]*[\ue000-\uf8ff]+[ \t]*(?=\S)", re.MULTILINE)
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_BULLET = re.compile(r"^[ \t]*[•●▪◦‣∙][ \t]*(?=\S)", re.MULTILINE)
_CHECKBOX_GLYPHS = "☐☑☒□■"

# --- export remnants --------------------------------------------------------------------------
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{2,6}|#x[0-9A-Fa-f]{2,6});")
_CHECKBOX_REMNANT = re.compile(
    rf"<\s*input\b[^<>]*>|\[\s*[xX ]?\s*\]|[{_CHECKBOX_GLYPHS}]", re.IGNORECASE
)
_HTML_BREAK = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"<\s*/?\s*(?:b|i|u|s|em|strong|span|font|p|div|sup|sub|small|big|mark|a|li|ul|ol|"
    r"table|tbody|thead|tr|td|th|h[1-6]|label|img|center)\b[^<>]{0,300}?/?\s*>",
    re.IGNORECASE,
)
_MARKDOWN_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.MULTILINE)
_MARKDOWN_BOLD = re.compile(r"\*\*")

# --- voting form ------------------------------------------------------------------------------
# The voting block of a RIS form: checkbox rows whose labels are these words.
_VOTE_TERM = (
    r"einstimmig|mehrheitl(?:ich|\.)?|abgelehnt|zur\s+Kenntnis(?:\s+genommen)?|Kenntnis(?:nahme)?"
    r"|verwiesen|vertagt|verworfen|Enthaltung(?:en)?|Gegenstimmen?|ohne\s+BE|abgesetzt"
    r"|geändert|TOP|nicht\s*öffentlich|öffentlich"
)
_VOTE_TAIL = re.compile(rf"(?:^|[\s|]+)(?:{_VOTE_TERM})[\s|.,;:]*$", re.IGNORECASE)
_DATE_START = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2,4}\b")
# Form rows never end a sentence; "mehrheitl." is the one voting word with a full stop.
_SENTENCE_END = re.compile(r"(?<!mehrheitl)[.!?][\"“”']?$", re.IGNORECASE)
_MAX_VOTE_LINE = 300
_PRIVATE_USE_CHECKBOX = re.compile(rf"[\ue000-\uf8ff](?=[ \t]*(?:{_VOTE_TERM})\b)", re.IGNORECASE)

# --- line structure ---------------------------------------------------------------------------
# A hyphen right after a letter at a line end, possibly followed by blank lines.
_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])-[ \t]*\n(?:[ \t]*\n){0,2}[ \t]*(?=(\S+))")
# "Bundes- und Landesebene": the hyphen stands for a word part that follows later.
_SUSPENSION_WORDS = frozenset(
    {"und", "oder", "bzw.", "bzw", "sowie", "als", "bis", "wie", "u.", "o."}
)
_SPACE_RUN = re.compile(r" {2,}")

# --- page furniture ---------------------------------------------------------------------------
_PAGE_NUMBER = re.compile(
    r"^(?:seite|page|s\.)\s*\d{1,4}(?:\s*(?:von|of|/)\s*\d{1,4})?$"
    r"|^[-–—]\s*\d{1,4}\s*[-–—]$"
    r"|^\d{1,4}\s*(?:/|von)\s*\d{1,4}$",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_EDGE_LINES = 3  # headers and footers live in the first and last lines of a page
_MAX_FURNITURE_LENGTH = 120


def clean_text(text: str) -> str:
    """Normalise one page or document of exported council text (see the module docstring)."""
    text = _normalise_characters(text)
    text = _remove_markup(text)
    lines = [_clean_line(line) for line in text.split("\n")]
    text = "\n".join(line for line in lines if line is not None)
    # Decided before hyphen joins, which make wrapped lines look like long paragraphs.
    paragraph_gap = 2 if _is_double_spaced(text) else 1
    text = _HYPHEN_BREAK.sub(_join_hyphenated, text)
    return _normalise_blank_lines(text, paragraph_gap)


def clean_pages(pages: list[PageText]) -> list[PageText]:
    """Remove repeated page headers/footers and page numbers, then clean each page's text."""
    furniture = _repeated_edge_lines(pages)
    cleaned: list[PageText] = []
    for index, page in enumerate(pages):
        number = page.number if page.number is not None else index + 1
        text = _strip_furniture(page.text, furniture, max_page=max(len(pages), number) + 2)
        cleaned.append(PageText(page.number, clean_text(text)))
    return cleaned


# --- characters -------------------------------------------------------------------------------
def _normalise_characters(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.translate(_LIGATURES)
    text = _SOFT_HYPHEN_BREAK.sub("", text).replace("\u00ad", "")
    text = _UNICODE_SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    # A private-use glyph before a voting word is the form's checkbox, not a list bullet.
    text = _PRIVATE_USE_CHECKBOX.sub("☐", text)
    text = _PRIVATE_USE_BULLET.sub("- ", text)
    text = _PRIVATE_USE.sub("", text)
    return _BULLET.sub("- ", text)


def _remove_markup(text: str) -> str:
    if _ENTITY.search(text):
        text = html.unescape(text)
    text = _HTML_BREAK.sub("\n", text)
    text = _HTML_TAG.sub("", text)
    text = _MARKDOWN_HEADING.sub("", text)
    return _MARKDOWN_BOLD.sub("", text)


# --- lines ------------------------------------------------------------------------------------
def _clean_line(line: str) -> str | None:
    """One line with checkbox and voting noise removed; None when nothing of value is left."""
    line, boxes = _CHECKBOX_REMNANT.subn(" ", line)
    line = _SPACE_RUN.sub(" ", line).strip()
    if not line:
        return "" if not boxes else None
    if not boxes and _SENTENCE_END.search(line):
        return line  # prose such as "Der Antrag wurde einstimmig abgelehnt."
    rest, votes = _strip_vote_tail(line)
    if not votes:
        return line
    if not rest.strip(" |-"):
        # Voting words only: a form row when it had a checkbox or several words; a lone
        # "einstimmig" without a checkbox may be a real result in minutes and stays.
        return None if boxes or votes >= 2 else line
    if boxes or (votes >= 3 and _DATE_START.match(rest)):
        # A Gremienweg row: keep the date and the committee, drop the voting columns.
        return rest.strip(" |")
    return line


def _strip_vote_tail(line: str) -> tuple[str, int]:
    """The line without trailing voting words, and how many were removed."""
    if len(line) > _MAX_VOTE_LINE:
        return line, 0
    removed = 0
    while match := _VOTE_TAIL.search(line):
        line = line[: match.start()]
        removed += 1
    return line, removed


def _join_hyphenated(match: re.Match[str]) -> str:
    following = match.group(1)
    if following.lower() in _SUSPENSION_WORDS:
        return "- "
    if following[0].islower():
        return ""
    return "-"


def _blank_line_gaps(lines: list[str]) -> tuple[list[int], list[int]]:
    """Indices of non-empty lines and the number of blank lines between neighbours."""
    content = [i for i, line in enumerate(lines) if line]
    return content, [b - a - 1 for a, b in itertools.pairwise(content)]


def _normalise_blank_lines(text: str, paragraph_gap: int) -> str:
    """One blank line between paragraphs, none inside them (``paragraph_gap`` blank lines
    or more in the input mark a paragraph)."""
    lines = text.split("\n")
    content, gaps = _blank_line_gaps(lines)
    if not content:
        return ""
    out = [lines[content[0]]]
    for gap, index in zip(gaps, content[1:], strict=True):
        out.append("\n\n" if gap >= paragraph_gap else "\n")
        out.append(lines[index])
    return "".join(out)


def _is_double_spaced(text: str) -> bool:
    """True for PDF exports with a blank line after every wrapped line and two or more
    between paragraphs, as opposed to text with one paragraph per line."""
    lines = text.split("\n")
    content, gaps = _blank_line_gaps(lines)
    if len(gaps) < 6:
        return False
    counts = Counter(min(gap, 2) for gap in gaps)
    long_lines = sum(len(lines[i]) > 150 for i in content)
    return (
        counts[1] >= 0.6 * len(gaps)
        and counts[0] <= 0.25 * len(gaps)
        and counts[2] >= 1
        and long_lines <= 0.1 * len(content)
    )


# --- page furniture ---------------------------------------------------------------------------
def _furniture_key(line: str) -> str:
    """A line with whitespace collapsed and digits masked, so "Seite 2" matches "Seite 3"."""
    return re.sub(r"\d+", "#", " ".join(line.split()))


def _edge_indices(lines: list[str]) -> list[int]:
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = content[:_EDGE_LINES] + content[-_EDGE_LINES:]
    return sorted(set(edges))


def _repeated_edge_lines(pages: list[PageText]) -> set[str]:
    """Keys of lines that start or end most pages (running headers and footers)."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        lines = page.text.split("\n")
        keys = {_furniture_key(lines[i]) for i in _edge_indices(lines)}
        seen.update(key for key in keys if key and len(key) <= _MAX_FURNITURE_LENGTH)
    needed = max(2, math.floor(len(pages) / 2) + 1)
    return {key for key, count in seen.items() if count >= needed}


def _strip_furniture(text: str, furniture: set[str], *, max_page: int) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    drop = {
        i
        for i in _edge_indices(lines)
        if _furniture_key(lines[i]) in furniture or _is_page_number(lines[i], max_page)
    }
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _is_page_number(line: str, max_page: int) -> bool:
    line = " ".join(line.split())
    if _PAGE_NUMBER.match(line):
        return True
    return bool(_BARE_NUMBER.match(line)) and 1 <= int(line) <= max_page
