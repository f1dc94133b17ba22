"""The English locale and the language switcher (which works without JavaScript)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import create_specialists, make_input, text

pytestmark = pytest.mark.django_db

PO_FILE = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"


@pytest.fixture
def specialists():
    create_specialists(
        make_input(
            registration_number="000001",
            name="中村 由美",
            prefectures=("27",),
            themes=(3,),
            industries=("E",),
            syllabus_items=("2-2", "3-3"),
            periods=("spot",),
            first_free=True,
            fees={"visit": 30000},
            affiliation="sole",
        ),
        make_input(
            registration_number="000002",
            prefectures=("24", "25", "26", "27", "28", "29", "30"),  # all of 近畿
            themes=(1, 5),
        ),
    )


def test_search_page_in_english_from_accept_language(client, specialists):
    response = client.get("/specialists/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = text(response)
    assert '<html lang="en">' in body
    assert "<h1>Find a specialist</h1>" in body
    assert "2</strong> specialists found" in body
    # Reference labels come from the English names in sekispe.reference.data.
    assert "③ Safe use of cloud services" in body
    assert "Osaka" in body and "大阪府" not in body
    assert "All of Kinki" in body
    assert '<option value="kinki">Kinki (2)</option>' in body
    assert "On-site consulting (¥30,000)" in body
    assert "Manufacturing" in body and "Sole proprietor" in body
    assert "Verified (IPA registry)" in body and "Self-declared" in body
    assert (
        'Registration date</dt><dd><time datetime="2024-04-01" class="date">1 Apr 2024</time></dd>'
        in body
    )
    # No Japanese from the templates is left on the page.
    assert "専門家をさがす" not in body and "登録簿で確認済み" not in body


def test_one_result_reads_in_the_singular(client, specialists):
    body = text(client.get("/specialists/", {"theme": "3"}, HTTP_ACCEPT_LANGUAGE="en"))
    assert "1</strong> specialist found" in body


def test_detail_page_in_english(client, specialists):
    body = text(client.get("/specialists/000001/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Information from the IPA registry" in body
    assert (
        'Registration date</dt><dd><time datetime="2024-04-01" class="date">1 Apr 2024</time></dd>'
        in body
    )
    assert (
        'Valid until</dt><dd><time datetime="2027-03-31" class="date">31 Mar 2027</time></dd>'
        in body
    )
    assert "2-2 Secure adoption of products and services, 3-3 Backup" in body
    assert "First consultation free</dt><dd>Yes</dd>" in body
    assert "Back to search" in body


def test_default_and_japanese_stay_japanese(client, specialists):
    for headers in ({}, {"HTTP_ACCEPT_LANGUAGE": "ja"}):
        body = text(client.get("/specialists/", **headers))
        assert '<html lang="ja">' in body
        assert "<h1>専門家をさがす</h1>" in body
        assert "③クラウドサービスの安全利用" in body
        assert "近畿全域" in body
        assert '<option value="kinki">近畿（2）</option>' in body
        assert "訪問コンサルティング（30,000円）" in body
        assert (
            '<dt>登録年月日</dt><dd><time datetime="2024-04-01" class="date">2024年4月1日</time></dd>'
            in body
        )
    raw = client.get("/specialists/").content.decode()
    assert "IPAの登録簿の情報\u3000<span" in raw  # the full-width space stays in Japanese
    detail = text(client.get("/specialists/000001/"))
    assert "2024年4月1日" in detail


def test_switcher_is_a_plain_post_form_back_to_the_same_page(client, specialists):
    body = text(client.get("/specialists/", {"theme": "3"}))
    form = re.search(r'<form class="language-switcher"(.*?)</form>', body).group(0)
    assert 'action="/i18n/setlang/"' in form and 'method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert (
        '<input type="hidden" name="next" id="language-next" value="/specialists/?theme=3">' in form
    )
    assert '<label for="id_language">表示言語</label>' in form
    assert '<option value="ja" lang="ja" selected>日本語</option>' in form
    assert '<option value="en" lang="en">English</option>' in form
    assert '<button type="submit">表示言語を切り替え</button>' in form
    # Content-Security-Policy: no inline scripts, styles or handlers.
    assert "style=" not in form and "onchange" not in form and "<script" not in form


def test_htmx_results_update_the_switchers_return_address(client, specialists):
    body = text(client.get("/specialists/", {"theme": "1"}, HTTP_HX_REQUEST="true"))
    assert 'id="language-next" value="/specialists/?theme=1" hx-swap-oob="true"' in body


def test_switching_to_english_sets_the_cookie_and_returns(client, specialists):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/specialists/?theme=3"})
    assert response.status_code == 302
    assert response["Location"] == "/specialists/?theme=3"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    body = text(client.get("/specialists/?theme=3"))
    assert "<h1>Find a specialist</h1>" in body
    assert '<option value="en" lang="en" selected>English</option>' in body
    assert '<button type="submit">Change language</button>' in body

    client.post("/i18n/setlang/", {"language": "ja", "next": "/specialists/"})
    assert "<h1>専門家をさがす</h1>" in text(client.get("/specialists/"))


def test_switcher_enforces_csrf(specialists):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/i18n/setlang/", {"language": "en"}).status_code == 403


def _po_entries(path: Path) -> list[dict]:
    """The entries of a .po file, with multi-line strings joined."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry: dict = {"flags": [], "msgstr": []}
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if key.startswith("msgstr"):
                    entry["msgstr"][-1] += ast.literal_eval(line)
                else:
                    entry[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                if key.startswith("msgstr"):
                    entry["msgstr"].append(ast.literal_eval(value))
                else:
                    entry[key] = ast.literal_eval(value)
        entries.append(entry)
    return entries


def test_every_message_has_an_english_translation():
    entries = [e for e in _po_entries(PO_FILE) if e["msgid"]]  # the header has an empty msgid
    assert len(entries) > 100
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert entry["msgstr"] and all(s.strip() for s in entry["msgstr"]), entry["msgid"]
    header = _po_entries(PO_FILE)[0]
    assert "fuzzy" not in header["flags"]
    assert "Language: en\n" in header["msgstr"][0]


def test_compiled_catalogue_matches_the_po_file():
    """The .mo is committed (nothing compiles it at deploy), so it must be current."""
    with open(PO_FILE.with_suffix(".mo"), "rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    for entry in _po_entries(PO_FILE):
        msgid, context = entry["msgid"], entry.get("msgctxt")
        if not msgid:
            continue
        if "msgid_plural" in entry:
            plural = entry["msgid_plural"]
            for n, expected in ((1, entry["msgstr"][0]), (2, entry["msgstr"][1])):
                if context:
                    assert catalogue.npgettext(context, msgid, plural, n) == expected
                else:
                    assert catalogue.ngettext(msgid, plural, n) == expected
        elif context:
            assert catalogue.pgettext(context, msgid) == entry["msgstr"][0]
        else:
            assert catalogue.gettext(msgid) == entry["msgstr"][0]


@pytest.fixture
def one_in_osaka(transactional_db):
    create_specialists(make_input(registration_number="000001", prefectures=("27",), themes=(3,)))


@pytest.mark.browser
def test_switcher_works_in_a_browser_without_javascript(live_server, one_in_osaka, chromium):
    page = chromium.new_page(locale="ja-JP", java_script_enabled=False)
    try:
        page.goto(live_server.url + "/specialists/?theme=3")
        page.get_by_label("表示言語").select_option("en")
        page.get_by_role("button", name="表示言語を切り替え").click()
        assert page.url == live_server.url + "/specialists/?theme=3"
        assert page.locator("h1").inner_text() == "Find a specialist"
        assert page.get_by_label("③ Safe use of cloud services").is_checked()
        assert page.locator(".total").inner_text() == "1"
    finally:
        page.close()
