"""The key pages in Debian's Chromium at 390, 768 and 1280 px (issue 15, "How
to prove it"): the page never scrolls sideways, no text is cut off by an
ancestor's overflow, axe-core finds no WCAG 2.2 A or AA violation, and the
console stays clean under the site's CSP. Full-page screenshots go to the test
artefacts (docs/accessibility-testing.md), never into git.

The world is built once for the module and each persona signs in once: the
rows are committed (the live server is another thread) and flushed at the
end, as pytest-django's transactional_db does after each test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import CHROMIUM
from tests.key_pages_support import (
    AXE_RUN,
    AXE_TAGS,
    CLIPPED_TEXT,
    PAGES,
    WIDEST,
    WIDTHS,
    axe_source,
    build_world,
)

# django_db: pytest-django sets up the test database only for a run that has
# a test marked so (this module alone included); see _django_db_helper below.
pytestmark = [pytest.mark.browser, pytest.mark.layout, pytest.mark.django_db]

ARTEFACTS = Path(os.environ.get("SEKISPE_ARTEFACTS", "var/test-artefacts")) / "key-pages"


@pytest.fixture
def _django_db_helper():
    """Overrides pytest-django's per-test transaction for this module: the
    world is committed once by `site`, and a transaction held by this thread
    would lock SQLite against the live server's writes (sessions, exposure)."""
    yield


@pytest.fixture(scope="module")
def site(request, django_db_setup, django_db_blocker):
    """(base URL, world). The server is pytest-django's, fetched here rather
    than named by the tests, so the tests do not each get transactional_db
    (which would flush the world after the first of them)."""
    from django.core.management import call_command

    with django_db_blocker.unblock():
        server = request.getfixturevalue("live_server")
        try:
            world = build_world()
            yield server.url, world
        finally:
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def tabs(site):
    """One signed-in browser tab per persona, opened on first use, with the
    console errors and uncaught exceptions it has seen since the last check."""
    from playwright.sync_api import sync_playwright

    base, world = site
    opened: dict[str | None, tuple[object, list[str]]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )

        def tab(persona: str | None):
            if persona not in opened:
                context = browser.new_context(locale="ja-JP")
                if persona is not None:
                    cookie = {"name": settings.SESSION_COOKIE_NAME, "url": base}
                    context.add_cookies([{**cookie, "value": world["sessions"][persona]}])
                page = context.new_page()
                errors: list[str] = []
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
                opened[persona] = (page, errors)
            return opened[persona]

        yield tab
        browser.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_key_page(site, tabs, name, width):
    base, world = site
    persona, path = PAGES[name]
    page, errors = tabs(persona)
    errors.clear()
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(base + path.format(**world))
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    page.wait_for_load_state("load")
    if name == "api-docs":
        page.locator("#swagger-ui .opblock").first.wait_for(timeout=15_000)

    problems: list[str] = []
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > inner:
        problems.append(f"{scroll} px wide in a {inner} px window: {page.evaluate(WIDEST)}")
    problems += [f"text clipped: {clip}" for clip in page.evaluate(CLIPPED_TEXT)]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)
    # evaluate() is not subject to the page's CSP, so axe needs no exception to it.
    page.evaluate(axe_source())
    problems += [f"axe {violation}" for violation in page.evaluate(AXE_RUN, AXE_TAGS)]
    problems += [f"console: {error}" for error in errors]
    assert not problems, f"{name} at {width} px ({path}):\n" + "\n".join(problems)
