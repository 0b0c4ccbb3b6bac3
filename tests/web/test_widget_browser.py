"""The citizen widget and the staff console in a real headless Chromium, keyboard only."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.api.conftest import STAFF_KEY
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow

QUESTION = "Wie viel kostet der Neubau des Hallenbads im Auenpark?"


def serious_violations(page: Any) -> list[str]:
    """axe-core violations of impact serious or critical, as readable lines."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def tab_to(page: Any, selector: str, limit: int = 25) -> None:
    """Press Tab until the element matching ``selector`` has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def test_widget_answers_by_keyboard_with_citations_and_is_accessible(
    browser: Any, live_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    page = context.new_page()
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_url) else None,
    )
    page.goto(f"{live_url}/")

    tab_to(page, ".schaengel-w-launcher")
    page.keyboard.press("Enter")
    panel = page.locator(".schaengel-w-panel")
    assert panel.is_visible()
    assert panel.get_attribute("lang") == "de"
    notice = page.locator(".schaengel-w-notice")
    assert notice.is_visible()
    assert "Sie chatten mit einem KI-Assistenten" in notice.inner_text()
    assert "keine Cookies" in page.locator(".schaengel-w-privacy").inner_text()
    assert page.evaluate("document.activeElement.id") == "schaengel-w-input"

    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    links = page.locator(".schaengel-w-bot .schaengel-w-source-link")
    links.first.wait_for(timeout=30_000)
    # Playwright's own polling: the page's CSP (script-src 'self') forbids evaluated strings.
    expect(page.locator(".schaengel-w-bot[aria-busy]")).to_have_count(0, timeout=30_000)
    answer = page.locator(".schaengel-w-bot .schaengel-w-text").inner_text()
    assert "Mio. Euro" in answer
    live = page.locator(".schaengel-w-root [aria-live='polite']")
    expect(live).to_contain_text("Mio. Euro")
    href = links.first.get_attribute("href") or ""
    assert href.startswith(f"{live_url}/dokumente/") or href.startswith("http")
    assert links.first.inner_text().startswith("[")

    # A citation link is reachable and followed by keyboard.
    links.first.focus()
    with context.expect_page() as opened:
        page.keyboard.press("Enter")
    document_page = opened.value
    document_page.wait_for_load_state()
    assert document_page.locator("h1").inner_text()
    assert "Hallenbad" in document_page.content()
    document_page.close()

    violations = serious_violations(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget.png"))
    assert not violations, "\n".join(violations)

    # Esc closes the panel and returns focus to the launcher (no focus trap).
    page.locator("#schaengel-w-input").focus()
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('schaengel-w-launcher')")
    assert page.locator(".schaengel-w-launcher").get_attribute("aria-expanded") == "false"

    assert not external, f"third-party requests: {external}"
    assert context.cookies() == []
    assert page.evaluate("window.localStorage.length + window.sessionStorage.length") == 0
    context.close()


def test_widget_switches_to_english(browser: Any, live_url: str) -> None:
    page = browser.new_page()
    page.goto(f"{live_url}/")
    page.locator(".schaengel-w-launcher").click()
    page.locator(".schaengel-w-lang").click()
    assert page.locator(".schaengel-w-panel").get_attribute("lang") == "en"
    assert (
        "You are chatting with an AI assistant" in page.locator(".schaengel-w-notice").inner_text()
    )
    assert page.evaluate("document.activeElement.classList.contains('schaengel-w-lang')")
    page.close()


def test_widget_reflows_at_320_pixels_without_horizontal_scrolling(
    browser: Any, live_url: str
) -> None:
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(f"{live_url}/")
    page.locator(".schaengel-w-launcher").click()
    page.locator("#schaengel-w-input").fill(QUESTION)
    page.keyboard.press("Enter")
    page.locator(".schaengel-w-source-link").first.wait_for(timeout=30_000)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 320
    box = page.locator(".schaengel-w-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-320.png"))
    page.close()


def test_staff_console_signs_in_shows_a_timeline_and_opens_documents(
    browser: Any, live_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_url}/staff")
    tab_to(page, "#key")
    page.keyboard.type(STAFF_KEY)
    page.keyboard.press("Enter")
    page.locator("#work").wait_for(state="visible")
    assert page.evaluate("window.localStorage.length") == 0
    assert page.evaluate("window.sessionStorage.length") == 1

    page.locator("#q").fill("Vergabe Rohbau Grundschule Am Mühlbach")
    page.locator("input[name=mode][value=timeline]").check()
    page.locator("#ask-form button[type=submit]").press("Enter")
    page.locator(".timeline li").first.wait_for(timeout=30_000)
    timeline = page.locator(".timeline").inner_text()
    assert "aktuellster Stand" in timeline
    assert "BV/0131/2024" in timeline, "staff see the non-public award decision"

    page.locator(".timeline li button").first.press("Enter")
    page.locator("#document").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "document-h"
    assert page.locator("#document-text p").count() > 3

    violations = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "staff.png"))
    assert not violations, "\n".join(violations)
    context.close()


def test_staff_console_rejects_a_wrong_key(browser: Any, live_url: str) -> None:
    page = browser.new_page()
    page.goto(f"{live_url}/staff")
    page.locator("#key").fill("falsch")
    page.locator("#key").press("Enter")
    expect(page.locator("#login-message")).not_to_be_empty()
    assert "ungültig" in page.locator("#login-message").inner_text()
    assert page.locator("#work").is_hidden()
    assert page.evaluate("window.sessionStorage.length") == 0
    page.close()
