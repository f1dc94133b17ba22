"""/api/v1/docs in real headless Chromium (issue 15, point 2): Swagger UI from
local static files, started by a static script, renders the operations under
the site's Content-Security-Policy with no violation and no console error."""

from __future__ import annotations

import pytest

from sekispe.core import middleware

# Records every CSP violation the page reports, before any of its own scripts run.
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} (${event.sourceFile}:${event.lineNumber})`
  );
});
"""


def test_docs_page_has_no_inline_script_and_the_site_policy(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == middleware.CONTENT_SECURITY_POLICY
    html = response.content.decode()
    assert "<script>" not in html
    assert "cdn." not in html and "https://" not in html
    assert "/static/js/api-docs.js" in html
    assert 'data-settings="' in html and "/api/v1/openapi.json" in html


@pytest.mark.browser
def test_api_docs_render_the_operations_under_the_csp(live_server, chromium):
    from playwright.sync_api import expect

    page = chromium.new_page(locale="ja-JP")
    page.add_init_script(_CSP_LISTENER)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))

    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response.status == 200
    assert response.headers["content-security-policy"] == middleware.CONTENT_SECURITY_POLICY

    operations = page.locator("#swagger-ui .opblock")
    expect(operations.first).to_be_visible(timeout=15_000)
    expect(
        page.locator("#swagger-ui .opblock-summary-path", has_text="/api/v1/specialists").first
    ).to_be_visible()
    assert operations.count() >= 5
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("sekispe API")

    # Opening an operation works (the UI's scripts run, its styles apply).
    operations.first.locator(".opblock-summary-control").click()
    expect(operations.first.locator(".opblock-body")).to_be_visible()

    violations = page.evaluate("window.__cspViolations")
    page.close()
    assert violations == [], violations
    assert errors == [], errors
    assert failed == [], failed
