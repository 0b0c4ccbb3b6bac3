"""Cleaning rules for RIS exports, one small example each, plus the real Koblenz texts."""

from __future__ import annotations

import re

import pytest

from chatbot.domain import PageText
from ingest.cleaning import clean_pages, clean_text


# --- characters -------------------------------------------------------------------------------
def test_text_is_normalised_to_composed_umlauts() -> None:
    assert clean_text("Gro\u0308\u00dfe U\u0308bergang") == "Größe Übergang"


def test_soft_hyphens_disappear_and_join_words_at_line_ends() -> None:
    assert clean_text("Verwal\u00adtung") == "Verwaltung"
    assert clean_text("Verwal\u00ad\ntung und Rat") == "Verwaltung und Rat"


def test_unicode_spaces_become_plain_spaces() -> None:
    assert clean_text("500\u00a0€ am\u202f1.\u2009Mai\u3000heute") == "500 € am 1. Mai heute"


def test_private_use_bullet_at_line_start_becomes_a_dash() -> None:
    text = "Folgende Punkte:\n\uf0b7 Outlook\n\uf0a7\tDMS"

    assert clean_text(text) == "Folgende Punkte:\n- Outlook\n- DMS"


def test_private_use_glyph_inside_a_line_is_removed() -> None:
    assert clean_text("Kosten \uf0e0 gering") == "Kosten gering"


def test_round_bullets_become_dashes() -> None:
    assert clean_text("• VOIS\n• DMS") == "- VOIS\n- DMS"


def test_checkbox_glyphs_are_removed() -> None:
    assert clean_text("☐ Option ☑ gewählt ☒ nein □ leer ■ voll") == "Option gewählt nein leer voll"


def test_ligatures_from_pdf_fonts_are_spelled_out() -> None:
    assert clean_text("Oﬃzielle Auﬂage") == "Offizielle Auflage"


# --- hyphenation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Die Verwal-\ntung prüft.", "Die Verwaltung prüft."),
        ("die nach-\n\nfolgende Darstellung", "die nachfolgende Darstellung"),
        ("die nach- \n \nfolgende Darstellung", "die nachfolgende Darstellung"),
        ("der Stadt-\nverwaltung Koblenz", "der Stadtverwaltung Koblenz"),
        ("im Bereich „Tele-\n\nfonie“", "im Bereich „Telefonie“"),
    ],
)
def test_words_split_across_lines_are_joined(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Einsatz der VoIP-\nTechnik", "Einsatz der VoIP-Technik"),
        ("das E-\nGovernment", "das E-Government"),
        ("die KFZ-\n\nAnwendung", "die KFZ-Anwendung"),
        ("Covid-\n19 Hilfen", "Covid-19 Hilfen"),
    ],
)
def test_real_hyphens_before_capitals_and_digits_are_kept(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("auf Bundes-\nund Landesebene", "auf Bundes- und Landesebene"),
        ("Haupt-\n\noder Nebenstelle", "Haupt- oder Nebenstelle"),
        ("Vor-\nbzw. Nachteile", "Vor- bzw. Nachteile"),
    ],
)
def test_suspended_hyphens_keep_their_space(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


def test_inline_hyphens_and_dashes_are_untouched() -> None:
    text = "Der „Digitalpakt Schule“ und Bundes- und Landesebene - soweit es geht - E-Akte"

    assert clean_text(text) == text


def test_dash_with_space_before_it_at_line_end_is_not_a_word_division() -> None:
    assert clean_text("Bestandsbebauung -\nsoweit es geht") == "Bestandsbebauung -\nsoweit es geht"


# --- voting form and export remnants ----------------------------------------------------------
def test_checkbox_input_remnants_are_removed() -> None:
    text = (
        "Ja <input type=\"checkbox\"/> nein <INPUT type='checkbox' checked> "
        '&lt;input type="checkbox"/&gt; gut'
    )

    assert clean_text(text) == "Ja nein gut"


def test_voting_rows_of_the_form_are_dropped() -> None:
    text = (
        "Gremienweg:\n"
        '\t\t<input type="checkbox"/>\tmehrheitl.\n'
        '\t\t<input type="checkbox"/> abgelehnt\t<input type="checkbox"/> Kenntnis\n'
        " einstimmig  mehrheitl.  ohne BE \n"
        "TOP  öffentlich  Enthaltungen  Gegenstimmen\n"
        "\tTOP\t\tnichtöffentlich\n"
        "\t\t\tohne BE abgesetzt geändert\n"
        "verwiesen vertagt\n"
        "Begründung:"
    )

    assert clean_text(text) == "Gremienweg:\nBegründung:"


def test_gremienweg_row_keeps_date_and_committee_without_voting_words() -> None:
    text = (
        '19.09.2018\tWerkausschuss "KGRZ"\t<input type="checkbox"/>\teinstimmig\n'
        '29.08.2019\tStadtrat\t<input type="checkbox"/> einstimmig\t'
        '<input type="checkbox"/> mehrheitl.\n'
        "06.02.2025 Hauptausschuss einstimmig mehrheitl. ohne BE"
    )

    assert clean_text(text) == (
        '19.09.2018 Werkausschuss "KGRZ"\n29.08.2019 Stadtrat\n06.02.2025 Hauptausschuss'
    )


def test_voting_words_in_prose_are_kept() -> None:
    text = (
        "Der Werkausschuss nimmt den Bericht zur Kenntnis.\n"
        "Der Antrag wurde einstimmig abgelehnt.\n"
        "Abstimmungsergebnis:\n"
        "einstimmig\n"
        "12.03.2024 wurde der Antrag einstimmig vertagt"
    )

    assert clean_text(text) == text


def test_bold_and_html_remnants_of_exports_are_removed() -> None:
    text = "**Antwort**\nVorlage: <b>AW/0095/2019</b>\n<B>Betreff:</B> <span class='x'>Text</span>"

    assert clean_text(text) == "Antwort\nVorlage: AW/0095/2019\nBetreff: Text"


def test_markdown_heading_marks_are_removed() -> None:
    assert clean_text("## **Protokoll:**\n\nText") == "Protokoll:\n\nText"


def test_comparisons_that_look_like_tags_are_kept() -> None:
    assert clean_text("wenn a < 5 und b > 3") == "wenn a < 5 und b > 3"


# --- whitespace -------------------------------------------------------------------------------
def test_spaces_collapse_and_line_ends_are_stripped() -> None:
    assert clean_text("  Vorlage:\t\tUV/0365/2018   Datum:  10.09.2018 \t") == (
        "Vorlage: UV/0365/2018 Datum: 10.09.2018"
    )


def test_paragraphs_keep_one_blank_line_and_lists_single_breaks() -> None:
    text = "Absatz eins.\n\n\n\n \nListe:\n- a\n- b\n\n\nAbsatz zwei.\r\nZeile zwei."

    assert clean_text(text) == "Absatz eins.\n\nListe:\n- a\n- b\n\nAbsatz zwei.\nZeile zwei."


def test_double_spaced_pdf_export_becomes_paragraphs() -> None:
    wrapped = [
        "Mit der Umstellung auf Outlook wurde Anfang August begonnen.",
        "Bis Mitte Dezember sollen alle Postfächer umgestellt sein, so",
        "die Planung des Rechenzentrums.",
        "",
        " ",
        "",
        "Die Office Suite ist vollständig ausgerollt und wird im",
        "Herbst aktualisiert, sofern die Tests",
        "erfolgreich verlaufen.",
        "",
        " ",
        "",
        "Anlage: Projektliste",
    ]
    text = "\n\n".join(wrapped)

    assert clean_text(text) == (
        "Mit der Umstellung auf Outlook wurde Anfang August begonnen.\n"
        "Bis Mitte Dezember sollen alle Postfächer umgestellt sein, so\n"
        "die Planung des Rechenzentrums.\n\n"
        "Die Office Suite ist vollständig ausgerollt und wird im\n"
        "Herbst aktualisiert, sofern die Tests\n"
        "erfolgreich verlaufen.\n\n"
        "Anlage: Projektliste"
    )


def test_one_paragraph_per_line_text_keeps_its_paragraphs() -> None:
    text = "\n\n".join(f"Absatz {n} mit einem ganzen Satz über die Verwaltung." for n in range(8))

    assert clean_text(text).count("\n\n") == 7


def test_empty_and_blank_text_clean_to_empty() -> None:
    assert clean_text("") == ""
    assert clean_text(" \n\t\n\u00a0") == ""


# --- pages ------------------------------------------------------------------------------------
def _page(number: int, body: str) -> PageText:
    header = "Stadt Koblenz – Vorlage BV/0123/2024"
    return PageText(number, f"{header}\n{body}\nSeite {number} von 3")


def test_repeated_headers_and_page_numbers_are_removed_from_every_page() -> None:
    pages = [_page(1, "Betreff: Radweg"), _page(2, "Begründung: Sicherheit"), _page(3, "Ende")]

    cleaned = clean_pages(pages)

    assert [page.text for page in cleaned] == ["Betreff: Radweg", "Begründung: Sicherheit", "Ende"]
    assert [page.number for page in cleaned] == [1, 2, 3]


@pytest.mark.parametrize("footer", ["- 2 -", "2", "Seite 2", "2/3", "– 2 –"])
def test_page_number_lines_are_removed(footer: str) -> None:
    pages = [PageText(1, "Erste Seite"), PageText(2, f"Zweite Seite\n{footer}")]

    assert clean_pages(pages)[1].text == "Zweite Seite"


def test_numbers_inside_the_text_are_not_taken_for_page_numbers() -> None:
    pages = [PageText(1, "Kosten in Euro:\n2018\nund weiter\nmit Text\nohne Ende")]

    assert "2018" in clean_pages(pages)[0].text


def test_a_page_that_becomes_empty_stays_so_page_numbers_stay_right() -> None:
    pages = [
        _page(1, "Text eins"),
        PageText(2, "Stadt Koblenz – Vorlage BV/0123/2024"),
        _page(3, "Drei"),
    ]

    cleaned = clean_pages(pages)

    assert [(page.number, page.text) for page in cleaned] == [
        (1, "Text eins"),
        (2, ""),
        (3, "Drei"),
    ]


def test_lines_repeated_on_a_single_page_are_kept() -> None:
    pages = [PageText(1, "Vorlage\nText\nVorlage"), PageText(2, "Anderer Text")]

    assert clean_pages(pages)[0].text == "Vorlage\nText\nVorlage"


# --- the real Koblenz exports -----------------------------------------------------------------
def test_koblenz_texts_lose_their_form_noise(koblenz_texts: dict[str, str]) -> None:
    for name, raw in koblenz_texts.items():
        cleaned = clean_text(raw)

        assert "<input" not in cleaned, name
        assert "<b>" not in cleaned and "**" not in cleaned, name
        assert not re.search(r"[^\W\d_]-\n+[a-zäöüß]", cleaned), name
        assert "\n\n\n" not in cleaned, name
        assert not re.search(r"^(?:einstimmig|TOP|abgelehnt)\b", cleaned, re.MULTILINE), name


def test_koblenz_word_divisions_are_joined(koblenz_texts: dict[str, str]) -> None:
    cleaned = clean_text(koblenz_texts["004"])

    for word in ["nachfolgende", "Dezember", "Stadtverwaltung", "VoIP-Technik", "Beteiligten",
                 "Rechenzentrumskopplung", "Netzwerkinfrastruktur"]:  # fmt: skip
        assert word in cleaned, word
    assert "Gremienweg:\n19.09.2018 Werkausschuss" in cleaned
    assert "Bundes- und Landesebene" in clean_text(koblenz_texts["000"])


def test_koblenz_gremienweg_rows_keep_the_committee(koblenz_texts: dict[str, str]) -> None:
    assert "Gremienweg:\n06.02.2025 Stadtrat\n\nStellungnahme:" in clean_text(koblenz_texts["001"])
    assert "Gremienweg:\n29.08.2019 Stadtrat\n\nAntwort:" in clean_text(koblenz_texts["002"])
