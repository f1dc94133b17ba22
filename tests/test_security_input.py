"""Issue 13, findings 4, 7, 9 and 10: untrusted text in, and the diagnosis API.

Every test is named after its finding. Run on PostgreSQL too, where a NUL in a
query or a JSON document is an error rather than a value:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/sekispe_input pytest tests/test_security_input.py`
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django import forms
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from sekispe.audit.models import AuditEvent
from sekispe.core.forms import PlainLabelForm
from sekispe.diagnosis import rules
from sekispe.events.forms import EventForm
from sekispe.inquiries.forms import InquiryForm
from sekispe.inquiries.models import Inquiry
from sekispe.listings.importer import parse_listing_csv
from sekispe.outbox.models import OutgoingMail
from sekispe.registry.importer import COURSE_COLUMNS, REGISTRY_COLUMNS, parse_registry_csv
from sekispe.registry.models import CourseCompletion, RegistryRecord
from tests.inquiry_support import draft

TODAY = dt.date(2026, 11, 22)
RLO = "\u202e"
ZWSP = "\u200b"
BOM = "\ufeff"


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


REGISTRY_ROW = [
    "123456",
    "鈴木 一郎",
    "スズキ イチロウ",
    "1975",
    "東京都",
    "2023-04-01",
    "2026-03-31",
    "1",
    "active",
    "ichiro@example.jp",
]


def _registry_row(**changes: str) -> list[str]:
    values = dict(zip(REGISTRY_COLUMNS, REGISTRY_ROW, strict=True))
    values.update(changes)
    return [values[c] for c in REGISTRY_COLUMNS]


def _no_nul(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert "\x00" not in text and "\\u0000" not in text


@pytest.fixture
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


# -- finding 4: a newline in a single-line field ---------------------------------------

INQUIRY_DATA = {
    "company_name": "株式会社サンプル製作所",
    "contact_name": "中小 花子",
    "contact_email": "hanako@sample.example.jp",
    "prefecture": "13",
    "theme": "1",
    "preferred_form": "visit",
    "message": "情報セキュリティのルールづくりを\r\n相談したいです。",
}


@pytest.mark.parametrize("field", ["company_name", "contact_name"])
@pytest.mark.parametrize("value", ["Evil Co\r\nBcc: victim@example.jp", "Evil\nCo", "Evil\tCo"])
def test_finding_04_newline_in_an_inquiry_name_is_a_form_error(field, value):
    form = InquiryForm({**INQUIRY_DATA, field: value})
    assert not form.is_valid()
    assert "改行" in form.errors[field][0] or "制御文字" in form.errors[field][0]


def test_finding_04_multi_line_message_keeps_its_newlines():
    form = InquiryForm(INQUIRY_DATA)
    assert form.is_valid(), form.errors
    assert "\n" in form.cleaned_data["message"]


@pytest.mark.django_db
def test_finding_04_newline_in_company_name_saves_nothing_and_sends_nothing(sme, specialist):
    client = Client()
    client.force_login(sme)
    data = {**INQUIRY_DATA, "company_name": "Evil Co\r\nBcc: victim@example.jp"}
    response = client.post("/inquiries/new/100001/", data)
    assert response.status_code in (200, 400)
    assert "改行" in response.content.decode()
    assert not Inquiry.objects.exists()
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize("field", ["company_name", "contact_name"])
def test_finding_04_the_inquiry_draft_refuses_a_newline(field):
    with pytest.raises(ValueError):
        draft(**{field: "Evil Co\r\nBcc: victim@example.jp"})


def test_finding_04_every_single_line_field_of_every_shared_form_is_guarded():
    class Sample(PlainLabelForm):
        title = forms.CharField()
        notes = forms.CharField(widget=forms.Textarea, required=False)

    form = Sample({"title": "a\rb", "notes": "one\r\ntwo"})
    assert not form.is_valid()
    assert list(form.errors) == ["title"]
    event = EventForm({"title": "セミナー\nBcc: x@example.jp"})
    event.is_valid()
    assert "title" in event.errors


# -- finding 7: the diagnosis API amplifies ------------------------------------------

IDS = rules.current().ids


def _diagnose(client: Client, body: bytes | str):
    return client.post("/api/v1/diagnoses", body, content_type="application/json")


@pytest.mark.django_db
def test_finding_07_a_huge_body_is_refused_with_413(client):
    answers = {f"k{i}": "done" for i in range(180_000)}
    response = _diagnose(client, json.dumps({"answers": answers}))
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert len(response.content) < 1000
    assert response.json()["detail"]


@pytest.mark.django_db
def test_finding_07_unknown_keys_are_reported_capped_with_a_count(client):
    answers = {**dict.fromkeys(IDS, "done"), **{f"x{i}": "done" for i in range(3000)}}
    body = json.dumps({"answers": answers})
    assert len(body) < 128 * 1024
    response = _diagnose(client, body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert len(detail) == 51
    assert [d["loc"] for d in detail[:50]] == [["body", "answers", f"x{i}"] for i in range(50)]
    assert detail[50]["loc"] == ["body", "answers"]
    assert detail[50]["type"] == "too_many_errors"
    assert "3000" in detail[50]["msg"]
    assert len(response.content) < 20_000


@pytest.mark.django_db
def test_finding_07_unknown_keys_are_refused_before_per_question_work(client, monkeypatch):
    from sekispe.diagnosis import services

    def boom(*args, **kwargs):
        raise AssertionError("evaluated despite unknown keys")

    monkeypatch.setattr(services, "evaluate", boom)
    answers = {**dict.fromkeys(IDS, "done"), "x9": "done"}
    response = _diagnose(client, json.dumps({"answers": answers}))
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "answers", "x9"]]


def test_finding_07_the_body_limit_is_small_but_takes_the_largest_form():
    from urllib.parse import urlencode

    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 128 * 1024
    # The largest legitimate body: a listing with a full profile and track record
    # in Japanese, every other field filled too.
    largest = {
        "csrfmiddlewaretoken": "x" * 64,
        "profile": "情報セキュリティ" * 500,
        "track_record": "支援実績\r\n" * 666,
        **{f"field{i}": "あ" * 200 for i in range(10)},
    }
    assert len(urlencode(largest)) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# -- finding 9: NUL bytes ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/registry?q=ab%00cd",
        "/api/v1/registry?q=%E5%B1%B1%E7%94%B0%07",
        "/api/v1/specialists?q=ab%00cd",
    ],
)
def test_finding_09_control_character_in_a_query_is_a_422(client, url):
    response = client.get(url)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["query", "q"]
    assert "制御文字" in detail[0]["msg"]
    assert "\x00" not in detail[0]["msg"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/api/v1/registry/00%0000", "/api/v1/specialists/00%0000", "/registry/00%0000/"]
)
def test_finding_09_nul_in_a_path_is_a_404(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/specialists/?q=ab%00cd", "/registry/?q=%E5%B1%B1%07"])
def test_finding_09_nul_in_a_page_query_is_a_japanese_form_error(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "制御文字" in response.content.decode()


@pytest.mark.django_db
def test_finding_09_nul_in_registry_query_is_rejected(client):
    response = client.get("/api/v1/registry", {"q": "ab\x00cd"})
    assert response.status_code == 422


@pytest.mark.django_db
def test_finding_09_nul_in_a_json_body_is_a_422(client):
    answers = {**dict.fromkeys(IDS, "done"), "b1": "do\x00ne"}
    response = _diagnose(client, json.dumps({"answers": answers}))
    assert response.status_code == 422
    response = _diagnose(client, json.dumps({"answers": {**answers, "b1": "done", "\x00": "x"}}))
    assert response.status_code == 422
    _no_nul(response.json()["detail"][0]["msg"])


def _run(command: str, path: Path) -> str:
    with pytest.raises(CommandError) as info:
        call_command(command, str(path), "--no-progress", stdout=io.StringIO())
    return str(info.value)


@pytest.mark.django_db
@pytest.mark.usefixtures("_today")
@pytest.mark.parametrize(
    ("header", "cells", "where"),
    [
        (
            (*REGISTRY_COLUMNS[:-1], "em\x00ail"),
            _registry_row(),
            "行 1",
        ),
        (REGISTRY_COLUMNS, _registry_row(registration_number="12\x003456"), "行 2, 列 "),
        (REGISTRY_COLUMNS, _registry_row(name="鈴木\x00一郎"), "行 2, 列 name"),
        (REGISTRY_COLUMNS, _registry_row(registered_on="2023-04-01\x00"), "行 2, 列 "),
    ],
)
def test_finding_09_nul_in_import_registry_is_a_named_audited_rejection(
    tmp_path, header, cells, where
):
    path = tmp_path / "registry.csv"
    path.write_text(_csv(header, [cells]), encoding="utf-8")
    message = _run("import_registry", path)
    assert "制御文字" in message
    assert where in message
    assert "\x00" not in message
    assert not RegistryRecord.objects.exists()
    event = AuditEvent.objects.get(action="registry.import_rejected")
    _no_nul(event.data)
    assert any("制御文字" in line for line in event.data["errors"])


@pytest.mark.django_db
@pytest.mark.usefixtures("_today")
@pytest.mark.parametrize("column", ["registration_number", "provider", "completed_on"])
def test_finding_09_nul_in_import_courses_is_a_named_audited_rejection(tmp_path, column):
    RegistryRecord.objects.create(
        registration_number="100001",
        name="佐藤 健太",
        name_kana="サトウ ケンタ",
        registered_on=dt.date(2023, 4, 1),
        expires_on=dt.date(2026, 3, 31),
        home_prefecture_id="13",
    )
    values = {
        "registration_number": "100001",
        "course": "practical",
        "provider": "IPA",
        "course_code": "P-2024",
        "completed_on": "2024-06-01",
    }
    values[column] = values[column][:2] + "\x00" + values[column][2:]
    path = tmp_path / "courses.csv"
    path.write_text(_csv(COURSE_COLUMNS, [[values[c] for c in COURSE_COLUMNS]]), "utf-8")
    message = _run("import_courses", path)
    assert "制御文字" in message and f"列 {column}" in message
    assert not CourseCompletion.objects.exists()
    _no_nul(AuditEvent.objects.get(action="courses.import_rejected").data)


def test_finding_09_nul_in_a_listing_cell_is_named():
    from sekispe.listings.importer import COLUMNS

    cells = dict.fromkeys(COLUMNS, "")
    cells["registration_number"] = "12\x003456"
    cells["profile"] = "一行目\n二行目\x00"
    _rows, errors = parse_listing_csv(_csv(COLUMNS, [[cells[c] for c in COLUMNS]]))
    named = {e.column: str(e) for e in errors}
    assert "制御文字" in named["registration_number"]
    assert "制御文字" in named["profile"]
    assert all("\x00" not in line for line in named.values())


# -- finding 10: invisible formatting characters ------------------------------------------


@pytest.mark.parametrize("char", [RLO, ZWSP, BOM, "\u2066", "\u200d"])
@pytest.mark.parametrize("column", ["name", "name_kana"])
def test_finding_10_invisible_character_in_a_registry_name_is_rejected(char, column):
    text = _csv(REGISTRY_COLUMNS, [_registry_row(**{column: f"鈴木{char}一郎"})])
    rows, errors = parse_registry_csv(text, today=TODAY)
    assert rows == []
    assert [(e.row, e.column) for e in errors] == [(2, column)]
    assert f"U+{ord(char):04X}" in errors[0].message


def test_finding_10_invisible_characters_are_stripped_from_listing_free_text():
    from sekispe.listings.importer import COLUMNS

    _rows, errors = parse_listing_csv(
        _csv(COLUMNS, [[f"鈴木{RLO}一郎" if c == "name" else "" for c in COLUMNS]])
    )
    assert any(e.column == "name" and "U+202E" in e.message for e in errors)
    from sekispe.lib.cells import parse_text

    assert parse_text(f"ゼロ{ZWSP}幅\n{RLO}二行目", "プロフィール", multiline=True) == (
        "ゼロ幅\n二行目"
    )


@pytest.mark.parametrize("char", [RLO, ZWSP, BOM])
def test_finding_10_invisible_character_in_an_inquiry_name_is_a_form_error(char):
    form = InquiryForm({**INQUIRY_DATA, "company_name": f"株式会社{char}サンプル"})
    assert not form.is_valid()
    assert f"U+{ord(char):04X}" in form.errors["company_name"][0]


def test_finding_10_invisible_characters_are_stripped_from_a_free_text_field():
    form = InquiryForm({**INQUIRY_DATA, "message": f"相談{ZWSP}内容{RLO}です"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["message"] == "相談内容です"


def test_finding_10_the_inquiry_draft_refuses_a_bidi_override():
    with pytest.raises(ValueError):
        draft(company_name=f"株式会社{RLO}サンプル")
