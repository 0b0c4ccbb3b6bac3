"""Metadata from the header blocks of each document type, and from the real Koblenz texts."""

from __future__ import annotations

import pytest

from chatbot.domain import CommitteeSession, DocumentMetadata
from ingest.cleaning import clean_text
from ingest.metadata import extract_metadata, find_references, parse_german_date

BV = """Beschlussvorlage

Vorlage: BV/0123/2024\t\tDatum: 12.03.2024
Dezernat 4
Verfasser:\t66-Tiefbauamt\tAz.: 66.1
Betreff:
Radweg an der Mosel: Ausbau zwischen Pfaffendorf
und Horchheim
Gremienweg:
19.03.2024\tAusschuss für Umwelt, Klima und
\tNachhaltigkeit\t<input type="checkbox"/> einstimmig
26.03.2024\tStadtrat\t<input type="checkbox"/> einstimmig\t<input type="checkbox"/> mehrheitl.
\tTOP\t\töffentlich

Beschlussempfehlung:
Der Stadtrat beschließt den Ausbau gemäß Anlage 1.
"""

UV = """ Unterrichtungsvorlage

Vorlage: UV/0042/2023 Datum: 1. Februar 2023

Verfasser: 20-Amt für Finanzen

Betreff:

Haushaltsvollzug zum 31.12.2022

Gremienweg:

08.02.2023 Haupt- und Finanzausschuss

 einstimmig  mehrheitl.  ohne BE

TOP  öffentlich  Enthaltungen  Gegenstimmen

Unterrichtung:

Der Ausschuss nimmt den Bericht zur Kenntnis.
"""

AT = """Antrag

Vorlage: AT/0007/2025\tDatum: 20.01.2025
Verfasser:\tRatsfraktion Bündnis 90/Die Grünen
Betreff:
Antrag der Ratsfraktion: Mehr Bäume in der Innenstadt
Gremienweg:
06.02.2025\tStadtrat

Beschlussvorschlag:
Die Verwaltung wird beauftragt, ein Konzept vorzulegen.
"""

ST = """Stellungnahme

zum Antrag Nr. AT/0007/2025

Vorlage: ST/0011/2025\tDatum: 03.02.2025
Verfasser:\t67-Grünflächenamt\tAz.:
Betreff:
Stellungnahme zum Antrag der Ratsfraktion: Mehr Bäume in der Innenstadt
Gremienweg:
06.02.2025\tStadtrat

Stellungnahme:
Wie bereits in der Vorlage BV/0099/2024 dargestellt, werden 2025 neue Bäume gepflanzt.
"""

AF = """Anfrage

Vorlage: AF/0031/2022\tDatum: 14.06.2022
Verfasser:\tCDU-Ratsfraktion
Betreff:
Anfrage: Sanierung der Grundschule Lützel
Gremienweg:
30.06.2022\tStadtrat

Anfrage:
Wann beginnt die Sanierung?
"""

AW = """**Antwort**
zur Anfrage Nr. AF/0031/2022

Vorlage: <b>AW/0040/2022</b>\t\tDatum: 28.06.2022
Verfasser:\t40-Schulverwaltungsamt\tAz.:
<b>Betreff:</b>
<b>Anfrage der CDU-Ratsfraktion: Sanierung der Grundschule Lützel</b>
Gremienweg:
30.06.2022\tStadtrat\t<input type="checkbox"/> Kenntnis

**Antwort:**
Die Sanierung beginnt 2023, siehe auch UV/12/2022 und den Haushalt.
"""

NIEDERSCHRIFT = """Niederschrift

über die 12. Sitzung des Werkausschusses am 19.09.2018

Protokoll:
Herr Adler antwortet, dass die Umstellung abgeschlossen ist.
"""


def _meta(raw: str, **kwargs: str) -> DocumentMetadata:
    return extract_metadata(clean_text(raw), document_id="doc-1", source="vorlage.pdf", **kwargs)


def test_beschlussvorlage_header_is_read_completely() -> None:
    meta = _meta(BV)

    assert (meta.type_code, meta.doc_type) == ("BV", "Beschlussvorlage")
    assert meta.reference == "BV/0123/2024"
    assert meta.references == []
    assert meta.date == "2024-03-12"
    assert meta.office == "66-Tiefbauamt"
    assert meta.title == "Radweg an der Mosel: Ausbau zwischen Pfaffendorf und Horchheim"
    assert meta.committees == [
        CommitteeSession("Ausschuss für Umwelt, Klima und Nachhaltigkeit", "2024-03-19"),
        CommitteeSession("Stadtrat", "2024-03-26"),
    ]
    assert (meta.document_id, meta.source) == ("doc-1", "vorlage.pdf")


def test_unterrichtungsvorlage_with_written_out_date_and_double_spaced_header() -> None:
    meta = _meta(UV)

    assert (meta.type_code, meta.doc_type) == ("UV", "Unterrichtungsvorlage")
    assert meta.reference == "UV/0042/2023"
    assert meta.date == "2023-02-01"
    assert meta.office == "20-Amt für Finanzen"
    assert meta.title == "Haushaltsvollzug zum 31.12.2022"
    assert meta.committees == [CommitteeSession("Haupt- und Finanzausschuss", "2023-02-08")]


def test_antrag_of_a_council_group() -> None:
    meta = _meta(AT)

    assert (meta.type_code, meta.doc_type, meta.reference) == ("AT", "Antrag", "AT/0007/2025")
    assert meta.office == "Ratsfraktion Bündnis 90/Die Grünen"
    assert meta.title == "Antrag der Ratsfraktion: Mehr Bäume in der Innenstadt"


def test_stellungnahme_references_the_antrag_it_answers() -> None:
    meta = _meta(ST)

    assert (meta.type_code, meta.doc_type) == ("ST", "Stellungnahme")
    assert meta.reference == "ST/0011/2025"
    assert meta.references == ["AT/0007/2025", "BV/0099/2024"]
    assert meta.office == "67-Grünflächenamt"


def test_anfrage_header() -> None:
    meta = _meta(AF)

    assert (meta.type_code, meta.doc_type, meta.reference) == ("AF", "Anfrage", "AF/0031/2022")
    assert meta.date == "2022-06-14"
    assert meta.committees == [CommitteeSession("Stadtrat", "2022-06-30")]


def test_antwort_references_the_anfrage_and_loses_export_markup() -> None:
    meta = _meta(AW)

    assert (meta.type_code, meta.doc_type, meta.reference) == ("AW", "Antwort", "AW/0040/2022")
    assert meta.references == ["AF/0031/2022", "UV/0012/2022"]
    assert meta.title == "Anfrage der CDU-Ratsfraktion: Sanierung der Grundschule Lützel"
    assert meta.office == "40-Schulverwaltungsamt"
    assert meta.committees == [CommitteeSession("Stadtrat", "2022-06-30")]


def test_niederschrift_is_recognised_by_its_heading_and_invents_nothing() -> None:
    meta = _meta(NIEDERSCHRIFT)

    assert meta.doc_type == "Niederschrift"
    assert meta.reference == ""
    assert meta.date == ""  # no "Datum:" label: the session date is not the document date
    assert meta.office == ""
    # Minutes have no Gremienweg; the meeting they record is their committee and date.
    assert meta.committees == [CommitteeSession("Werkausschuss", "2018-09-19")]
    assert meta.title == "über die 12. Sitzung des Werkausschusses am 19.09.2018"


@pytest.mark.parametrize(
    ("heading", "code", "doc_type"),
    [
        ("Mitteilungsvorlage", "MV", "Mitteilungsvorlage"),
        ("Informationsvorlage", "IV", "Informationsvorlage"),
        ("Dringlichkeitsvorlage", "DV", "Dringlichkeitsvorlage"),
        ("Protokoll:", "NI", "Niederschrift"),
        ("Öffentliche Niederschrift", "NI", "Niederschrift"),
    ],
)
def test_document_type_from_the_heading_when_no_reference_says(
    heading: str, code: str, doc_type: str
) -> None:
    meta = _meta(f"{heading}\n\nBetreff: Etwas\n")

    assert (meta.type_code, meta.doc_type) == (code, doc_type)


def test_reference_prefix_wins_over_the_heading() -> None:
    assert _meta("Dringlichkeitsvorlage\n\nVorlage: BV/0001/2024\n").type_code == "BV"


def test_document_without_recognisable_fields_leaves_them_empty() -> None:
    meta = _meta("Liebe Bürgerinnen und Bürger,\n\nder Sommer kommt.")

    assert (meta.doc_type, meta.type_code, meta.reference, meta.date, meta.office) == (
        "", "", "", "", ""
    )  # fmt: skip
    assert meta.references == [] and meta.committees == []
    assert meta.title == "Liebe Bürgerinnen und Bürger,"
    assert (meta.visibility, meta.url, meta.content_hash) == ("public", "", "")


def test_title_hint_is_used_when_there_is_no_betreff() -> None:
    assert _meta("Text ohne Kopf.", title_hint="  Radverkehrskonzept   2030 ").title == (
        "Radverkehrskonzept 2030"
    )


def test_betreff_wins_over_the_title_hint() -> None:
    assert _meta("Betreff: Radweg Mosel\n", title_hint="scan_0042").title == "Radweg Mosel"


def test_a_reference_mentioned_before_the_header_is_not_the_own_one() -> None:
    meta = _meta("Stellungnahme\n\nzum Antrag Nr. AT/0001/2020\n\nText ohne Vorlage-Zeile.")

    assert meta.reference == ""
    assert meta.references == ["AT/0001/2020"]
    assert meta.type_code == "ST"


def test_invalid_dates_are_not_invented() -> None:
    assert _meta("Datum: 31.02.2024\n").date == ""


# --- find_references and dates ----------------------------------------------------------------
def test_find_references_normalises_and_deduplicates_in_order() -> None:
    text = "Siehe BV/123/2024, AT / 14 / 2025, erneut BV/0123/2024 und XYZ/0001/2020."

    assert find_references(text) == ["BV/0123/2024", "AT/0014/2025", "XYZ/0001/2020"]


def test_find_references_understands_how_people_type_them() -> None:
    assert find_references("Was steht in BV 123/2024?") == ["BV/0123/2024"]
    assert find_references("was steht in bv/7/2019") == ["BV/0007/2019"]


@pytest.mark.parametrize(
    "text",
    ["KW 12/2024", "ab an 12/2024", "EB 17/KGRZ", "Amt 10/Personal", "Q4/2018", "ABCD/0001/2020",
     "am 10/09/2018", "BV/0123/20245"],
)  # fmt: skip
def test_find_references_ignores_lookalikes(text: str) -> None:
    assert find_references(text) == []


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("10.09.2018", "2018-09-10"),
        ("1.2.2019", "2019-02-01"),
        ("10. September 2018", "2018-09-10"),
        ("3. März 2020", "2020-03-03"),
        ("31.02.2024", ""),
        ("kein Datum", ""),
    ],
)
def test_parse_german_date(text: str, iso: str) -> None:
    assert parse_german_date(text) == iso


# --- the real Koblenz exports -----------------------------------------------------------------
def _koblenz_meta(koblenz_texts: dict[str, str], name: str) -> DocumentMetadata:
    return extract_metadata(clean_text(koblenz_texts[name]), document_id=name, source=name)


def test_koblenz_unterrichtungsvorlage(koblenz_texts: dict[str, str]) -> None:
    meta = _koblenz_meta(koblenz_texts, "004")

    assert (meta.reference, meta.type_code, meta.doc_type) == (
        "UV/0365/2018", "UV", "Unterrichtungsvorlage"
    )  # fmt: skip
    assert meta.date == "2018-09-10"
    assert meta.office == "17-EB Kommunales Gebietsrechenzentrum"
    assert meta.title == "Stand der Projekte; Aktuelle Projektliste des KGRZ"
    assert meta.committees == [
        CommitteeSession('Werkausschuss "Kommunales Gebietsrechenzentrum Koblenz"', "2018-09-19")
    ]


def test_koblenz_antwort_references_its_anfrage(koblenz_texts: dict[str, str]) -> None:
    meta = _koblenz_meta(koblenz_texts, "002")

    assert (meta.reference, meta.doc_type) == ("AW/0095/2019", "Antwort")
    assert meta.references == ["AF/0074/2019"]
    assert meta.date == "2019-08-23"
    assert meta.office == "10-Amt für Personal und Organisation"
    assert meta.committees == [CommitteeSession("Stadtrat", "2019-08-29")]


def test_koblenz_stellungnahme_references_its_antrag(koblenz_texts: dict[str, str]) -> None:
    meta = _koblenz_meta(koblenz_texts, "001")

    assert (meta.reference, meta.doc_type) == ("ST/0020/2025", "Stellungnahme")
    assert meta.references == ["AT/0014/2025"]
    assert meta.title.startswith("Stellungnahme zum Antrag der AfD-Ratsfraktion")


def test_koblenz_minutes_excerpts_are_niederschriften(koblenz_texts: dict[str, str]) -> None:
    for name in ("000", "003"):
        meta = _koblenz_meta(koblenz_texts, name)

        assert meta.doc_type == "Niederschrift", name
        assert (meta.reference, meta.date, meta.office) == ("", "", ""), name
