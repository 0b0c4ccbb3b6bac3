"""Render the sample corpus sources (samples/sources/*.txt) into RIS-like exports (samples/corpus/).

The sources are plain UTF-8 text with a small front matter; this script turns each one into the
format a council information system would export (PDF, DOCX, HTML, TXT, MD), including the noise
real exports carry: hyphenation at line ends, repeated page headers and footers, private-use
bullet and checkbox glyphs, ``<input type="checkbox"/>`` remnants and a Windows-1252 text file.
Non-public documents get a ``<file>.meta.json`` sidecar with ``{"visibility": "internal"}``.

Run with the project's virtual environment (needs the dev dependencies fpdf2 and python-docx):

    .venv/bin/python samples/build_corpus.py

Output is deterministic: fixed creation dates in PDF/DOCX metadata and fixed ZIP timestamps.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
CORPUS = HERE / "corpus"
CITY = "Stadt Lahnfeld"
FIXED_DATE = dt.datetime(2025, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
ZIP_DATE = (2025, 6, 1, 12, 0, 0)

PUA_BULLET = "\uf0b7"  # Symbol-font bullet as exported by Word to PDF
PUA_CHECKBOX = "\uf06f"  # Wingdings empty box in the voting form
CHECKBOX = "\u2610"  # ☐
VOTE_OPTIONS = (
    ("einstimmig", "mehrheitl.", "ohne BE"),
    ("abgelehnt", "Kenntnis", "abgesetzt"),
    ("verwiesen", "vertagt", "geändert"),
)
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


# --------------------------------------------------------------------------- source model


@dataclass
class Block:
    """One body element: heading (h2/h3), paragraph (p), list item (li) or table."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Source:
    """A parsed source file: front matter plus body blocks."""

    meta: dict[str, str]
    blocks: list[Block]

    @property
    def public(self) -> bool:
        return self.meta.get("visibility", "public") == "public"

    @property
    def gremien(self) -> list[tuple[str, str]]:
        out = []
        for item in self.meta.get("gremien", "").split(";"):
            item = item.strip()
            if item:
                date, _, name = item.partition(" ")
                out.append((date, name.strip()))
        return out


def parse_source(path: Path) -> Source:
    """Parse ``key: value`` front matter up to ``---`` and the marked-up body."""
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise ValueError(f"{path.name}: front matter must end with a '---' line")
    meta = {}
    for line in head.splitlines():
        key, _, value = line.partition(":")
        meta[key.strip()] = value.strip()
    blocks: list[Block] = []
    for line in body.splitlines():
        line = line.rstrip()
        if not line:
            continue
        if line.startswith("### "):
            blocks.append(Block("h3", line[4:]))
        elif line.startswith("## "):
            blocks.append(Block("h2", line[3:]))
        elif line.startswith("- "):
            blocks.append(Block("li", line[2:]))
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if blocks and blocks[-1].kind == "table":
                blocks[-1].rows.append(cells)
            else:
                blocks.append(Block("table", rows=[cells]))
        else:
            blocks.append(Block("p", line))
    return Source(meta, blocks)


# --------------------------------------------------------------------------- header block

Cell = tuple[float, str]  # (x offset in mm for PDF, text)


def header_rows(src: Source, box: str) -> list[list[Cell]]:
    """The RIS header block as rows of positioned cells; text formats join cells with tabs."""
    m = src.meta
    rows: list[list[Cell]] = [[(0, m["type"])]]
    if m.get("prefix"):
        rows.append([(0, m["prefix"])])
    rows.append([(0, f"Vorlage: {m['reference']}"), (110, f"Datum: {m['date']}")])
    rows.append([(0, m["dezernat"])])
    rows.append([(0, f"Verfasser: {m['author']}"), (110, f"Az.: {m.get('az', '')}".rstrip())])
    rows.append([(0, "Betreff:")])
    rows.append([(0, m["subject"])])
    scope = "öffentlich" if src.public else "nichtöffentlich"
    if m["type"] == "Niederschrift":
        for date, name in src.gremien:
            rows.append([(0, "Sitzung:"), (22, f"{date} {name}"), (110, scope)])
        return rows
    rows.append([(0, "Gremienweg:")])
    for date, name in src.gremien:
        for i, options in enumerate(VOTE_OPTIONS):
            lead: list[Cell] = [(0, date), (22, name)] if i == 0 else []
            rows.append(
                lead + [(x, f"{box} {o}") for x, o in zip((100, 130, 158), options, strict=True)]
            )
        rows.append([(22, "TOP"), (45, scope), (100, "Enthaltungen"), (130, "Gegenstimmen")])
    return rows


# --------------------------------------------------------------------------- line wrapping

VOWELS = set("aeiouäöüyAEIOUÄÖÜY")
# Consonant groups that may open a German syllable, so they move to the next line together.
ONSETS = {
    "ch",
    "ck",
    "sch",
    "ph",
    "th",
    "qu",
    "bl",
    "br",
    "pl",
    "pr",
    "tr",
    "dr",
    "kl",
    "kr",
    "gr",
    "fl",
    "fr",
    "schl",
    "schr",
    "schw",
    "sp",
    "spr",
    "st",
    "str",
}


def split_points(word: str) -> list[int]:
    """Plausible German syllable boundaries inside a long, lowercase-continuing alphabetic word."""
    core = word.rstrip(".,;:)!?")
    if len(core) < 8 or not core.isalpha() or any(c.isupper() for c in core[1:]):
        return []
    points = []
    i = 0
    while i < len(core) and core[i] not in VOWELS:
        i += 1
    while i < len(core):
        while i < len(core) and core[i] in VOWELS:  # vowel nucleus (ei, au, ie ... stay together)
            i += 1
        start = i
        while i < len(core) and core[i] not in VOWELS:
            i += 1
        if i >= len(core) or i == start:  # word ends in consonants: no further boundary
            break
        cluster = core[start:i].lower()
        onset = next((n for n in range(len(cluster), 1, -1) if cluster[-n:] in ONSETS), 1)
        cut = i - onset
        if 2 <= cut <= len(core) - 3:
            points.append(cut)
    return points


def wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy wrap with export artefacts: syllable hyphenation, breaks after compound hyphens."""
    lines: list[str] = []
    line = ""
    words = text.split(" ")
    k = 0
    while k < len(words):
        word = words[k]
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            k += 1
            continue
        prefix = f"{line} " if line else ""
        piece = ""
        hyphen = word.find("-", 2)
        if (
            0 < hyphen < len(word) - 2
            and word[hyphen + 1].isalpha()
            and measure(prefix + word[: hyphen + 1]) <= width
        ):
            piece, rest = word[: hyphen + 1], word[hyphen + 1 :]
        if not piece:
            for i in reversed(split_points(word)):
                if measure(prefix + word[:i] + "-") <= width:
                    piece, rest = word[:i] + "-", word[i:]
                    break
        if piece:
            lines.append(prefix + piece)
            words[k] = rest
            line = ""
        elif line:
            lines.append(line)
            line = ""
        else:  # a single word wider than the line
            lines.append(word)
            k += 1
    if line:
        lines.append(line)
    return lines


def char_measure(s: str) -> float:
    return float(len(s))


# --------------------------------------------------------------------------- text and markdown


def table_text(rows: list[list[str]]) -> Iterator[str]:
    for row in rows:
        yield "\t".join(row)


def render_txt(src: Source) -> bytes:
    """Plain text as saved from a RIS export; optional hard wrap like a PDF-to-text conversion."""
    encoding = src.meta.get("encoding", "utf-8")
    box = "[ ]" if encoding != "utf-8" else CHECKBOX
    width = int(src.meta.get("wrap", "0"))
    out = [
        ("\t\t" if row[0][0] else "") + "\t".join(t for _, t in row)
        for row in header_rows(src, box)
    ]
    out.append("")
    for b in src.blocks:
        if b.kind == "table":
            out.extend(table_text(b.rows))
            continue
        text = f"• {b.text}" if b.kind == "li" else b.text
        out.extend(wrap(text, width, char_measure) if width else [text])
        out.append("")
    newline = "\r\n" if encoding != "utf-8" else "\n"
    return (newline.join(out).rstrip() + newline).encode(encoding)


def render_md(src: Source) -> bytes:
    """Markdown as produced by converting an export with a generic document converter."""
    out = []
    for row in header_rows(src, CHECKBOX):
        out.append(" ".join(t for _, t in row) + "  ")
    out.append("")
    for b in src.blocks:
        if b.kind == "h2":
            out.append(f"## **{b.text}**")
        elif b.kind == "h3":
            out.append(f"### {b.text}")
        elif b.kind == "li":
            out.append(f"- {b.text}")
        elif b.kind == "table":
            out.append("| " + " | ".join(b.rows[0]) + " |")
            out.append("|" + "---|" * len(b.rows[0]))
            out.extend("| " + " | ".join(r) + " |" for r in b.rows[1:])
        else:
            out.append(b.text)
        out.append("")
    return ("\n".join(out).rstrip() + "\n").encode("utf-8")


# --------------------------------------------------------------------------- HTML


def render_html(src: Source) -> bytes:
    """HTML in the style of a RIS detail page with form remnants and navigation cruft."""
    e = html.escape
    m = src.meta
    head = [
        "<!DOCTYPE html>",
        '<html lang="de">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(m['type'])} {e(m['reference'])} – {e(m['subject'])}"
        f" | Ratsinformationssystem {CITY}</title>",
        "</head>",
        "<body>",
        '<div class="ris-nav"><a href="#">Sitzungskalender</a> | <a href="#">Vorlagen</a> | '
        '<a href="#">Drucken</a></div>',
        '<table class="vorlagenkopf" border="0">',
    ]
    body = []
    for row in header_rows(src, "\x00"):
        cells = []
        for _, text in row:
            if text.startswith("\x00 "):
                cells.append(f'<td><input type="checkbox"/> {e(text[2:])}</td>')
            elif text == m["type"] or text == m["subject"] or text.startswith("Vorlage:"):
                cells.append(f"<td><b>{e(text)}</b></td>")
            else:
                cells.append(f"<td>{e(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    body.append("</table>")
    in_list = False
    for b in src.blocks:
        if b.kind != "li" and in_list:
            body.append("</ul>")
            in_list = False
        if b.kind == "h2":
            body.append(f"<h2>{e(b.text)}</h2>")
        elif b.kind == "h3":
            body.append(f"<h3>{e(b.text)}</h3>")
        elif b.kind == "li":
            if not in_list:
                body.append("<ul>")
                in_list = True
            body.append(f"<li>{e(b.text)}</li>")
        elif b.kind == "table":
            body.append('<table class="inhalt" border="1">')
            body.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in b.rows[0]) + "</tr>")
            for r in b.rows[1:]:
                body.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>")
            body.append("</table>")
        else:
            body.append(f"<p>{e(b.text)}</p>")
    if in_list:
        body.append("</ul>")
    tail = [
        '<div class="ris-footer">Ratsinformationssystem der ' + CITY + "</div>",
        "</body>",
        "</html>",
    ]
    return ("\n".join(head + body + tail) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- DOCX


def render_docx(src: Source) -> bytes:
    """A Word document with real headings, list paragraphs and tables."""
    import docx
    from docx.shared import Pt

    m = src.meta
    d = docx.Document()
    cp = d.core_properties
    cp.author = m["author"]
    cp.title = f"{m['reference']} {m['subject']}"
    cp.created = cp.modified = FIXED_DATE.replace(tzinfo=None)
    cp.last_modified_by = "RIS-Export"
    cp.revision = 1
    d.add_heading(m["type"], level=1)
    if m.get("prefix"):
        d.add_paragraph(m["prefix"])
    d.add_paragraph(f"Vorlage: {m['reference']}\tDatum: {m['date']}")
    d.add_paragraph(m["dezernat"])
    d.add_paragraph(f"Verfasser: {m['author']}\tAz.: {m.get('az', '')}".rstrip())
    d.add_paragraph("Betreff:")
    d.add_paragraph().add_run(m["subject"]).bold = True
    gremien_rows = header_rows(src, CHECKBOX)[7 if m.get("prefix") else 6 :]
    if m["type"] == "Niederschrift":
        for row in gremien_rows:
            d.add_paragraph("\t".join(text for _, text in row))
    elif gremien_rows:
        d.add_paragraph(gremien_rows[0][0][1])
        grid = d.add_table(rows=0, cols=5)
        for row in gremien_rows[1:]:
            cells = grid.add_row().cells
            for (_, text), cell in zip(row, _docx_slots(row, cells), strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.font.size = Pt(8)
    for b in src.blocks:
        if b.kind == "h2":
            d.add_heading(b.text, level=2)
        elif b.kind == "h3":
            d.add_heading(b.text, level=3)
        elif b.kind == "li":
            d.add_paragraph(b.text, style="List Bullet")
        elif b.kind == "table":
            t = d.add_table(rows=0, cols=len(b.rows[0]))
            t.style = "Table Grid"
            for i, r in enumerate(b.rows):
                for cell, text in zip(t.add_row().cells, r, strict=True):
                    cell.text = text
                    if i == 0:
                        cell.paragraphs[0].runs[0].bold = True
        else:
            d.add_paragraph(b.text)
    buf = io.BytesIO()
    d.save(buf)
    return _normalise_zip(buf.getvalue())


def _docx_slots(row: list[Cell], cells: list) -> list:
    """Map positioned header cells onto the five columns of the Gremienweg table."""
    columns = {0: 0, 22: 1, 45: 2, 100: 2, 110: 2, 130: 3, 158: 4}
    slots = []
    used: set[int] = set()
    for x, _ in row:
        col = columns.get(int(x), 4)
        while col in used and col < 4:
            col += 1
        used.add(col)
        slots.append(cells[col])
    return slots


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite a ZIP container with fixed timestamps so DOCX output is byte-for-byte stable."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------- PDF


def _font_with_pua(tmp: Path) -> Path | None:
    """DejaVu Sans with Symbol/Wingdings private-use code points mapped, as Word exports them."""
    for candidate in _font_candidates():
        if candidate.exists():
            from fontTools.ttLib import TTFont

            font = TTFont(candidate, recalcTimestamp=False)
            for table in font["cmap"].tables:
                if table.isUnicode() and table.format in (4, 12):
                    cmap = table.cmap
                    cmap[ord(PUA_BULLET)] = cmap[0x2022]
                    cmap[ord(PUA_CHECKBOX)] = cmap.get(0x2610) or cmap[0x25A1]
            out = tmp / "DejaVuSans-PUA.ttf"
            font.save(out)
            return out
    return None


def _font_candidates() -> Iterator[Path]:
    yield from FONT_CANDIDATES
    try:
        import matplotlib

        yield Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    except ImportError:
        return


def render_pdf(src: Source, font_path: Path) -> bytes:
    """A paginated PDF with page header and footer, hyphenated line ends and glyph noise."""
    from fpdf import FPDF

    m = src.meta
    ref = m["reference"]

    class RisPDF(FPDF):
        def header(self) -> None:
            self.set_font("DejaVu", size=8)
            self.set_xy(20, 10)
            self.cell(0, 4, f"{CITY} – Vorlage {ref}")
            self.set_y(22)

        def footer(self) -> None:
            self.set_font("DejaVu", size=8)
            self.set_xy(20, -15)
            self.cell(0, 4, f"Seite {self.page_no()} von {{nb}}", align="R")

    pdf = RisPDF(format="A4", unit="mm")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(f"{ref} {m['subject']}")
    pdf.set_author(CITY)
    pdf.set_creator("RIS Vorlagenexport")
    pdf.set_margins(20, 22, 20)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font("DejaVu", "", str(font_path))
    pdf.add_font("DejaVu", "B", str(font_path))
    pdf.add_page()
    width = pdf.w - 40

    def lines(text: str, size: float, indent: float = 0.0, line_h: float = 6.0) -> None:
        pdf.set_font_size(size)
        for ln in wrap(text, width - indent, pdf.get_string_width):
            if pdf.get_y() + line_h > pdf.h - 22:
                pdf.add_page()
            pdf.set_x(20 + indent)
            pdf.cell(0, line_h, ln)
            pdf.ln(line_h)

    pdf.set_font("DejaVu", "B", 13)
    for i, row in enumerate(header_rows(src, PUA_CHECKBOX)):
        if i == 0:
            pdf.cell(0, 7, row[0][1])
            pdf.ln(9)
            pdf.set_font("DejaVu", "", 9)
            continue
        if row[0][1] == m["subject"]:
            pdf.set_font("DejaVu", "B", 10)
            lines(row[0][1], 10, line_h=5)
            pdf.set_font("DejaVu", "", 9)
            continue
        y = pdf.get_y()
        for x, text in row:
            pdf.set_xy(20 + x, y)
            pdf.cell(0, 4.6, text)
        pdf.ln(4.6)
    pdf.ln(4)
    pdf.set_font("DejaVu", "", 11)
    for b in src.blocks:
        if b.kind in ("h2", "h3"):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 11)
            lines(b.text, 11)
            pdf.set_font("DejaVu", "", 11)
        elif b.kind == "li":
            lines(f"{PUA_BULLET}  {b.text}", 11, indent=4)
        elif b.kind == "table":
            pdf.set_font_size(9.5)
            col_w = width / len(b.rows[0])
            for r in b.rows:
                cells = [wrap(c, col_w - 2, pdf.get_string_width) for c in r]
                h = 4.8 * max(len(c) for c in cells)
                if pdf.get_y() + h > pdf.h - 22:
                    pdf.add_page()
                y = pdf.get_y()
                for j, cell_lines in enumerate(cells):
                    for k, ln in enumerate(cell_lines):
                        pdf.set_xy(20 + j * col_w, y + k * 4.8)
                        pdf.cell(col_w, 4.8, ln)
                pdf.set_xy(20, y + h + 0.8)
            pdf.ln(2)
            pdf.set_font_size(11)
        else:
            lines(b.text, 11)
        pdf.ln(2.2)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- main


def build(out_dir: Path = CORPUS, only: set[str] | None = None) -> list[Path]:
    """Render every source into ``out_dir``; returns the written document paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        font = _font_with_pua(Path(tmp))
        for path in sorted(SOURCES.glob("*.txt")):
            src = parse_source(path)
            name = src.meta["file"]
            if only and name not in only and path.stem not in only:
                continue
            fmt = src.meta["format"]
            if fmt == "pdf":
                if font is None:
                    raise SystemExit(
                        "DejaVuSans.ttf not found; install fonts-dejavu-core or matplotlib"
                    )
                data = render_pdf(src, font)
            else:
                data = {
                    "docx": render_docx,
                    "html": render_html,
                    "txt": render_txt,
                    "md": render_md,
                }[fmt](src)
            target = out_dir / name
            target.write_bytes(data)
            written.append(target)
            sidecar = out_dir / f"{name}.meta.json"
            if not src.public:
                sidecar.write_text(json.dumps({"visibility": "internal"}) + "\n", encoding="utf-8")
            elif sidecar.exists():
                sidecar.unlink()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS, help="output folder")
    parser.add_argument(
        "only", nargs="*", help="file names or source stems to build (default: all)"
    )
    args = parser.parse_args()
    written = build(args.out, set(args.only) or None)
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"{len(written)} documents written to {args.out} ({total / 1024:.0f} KiB in folder)")


if __name__ == "__main__":
    main()
