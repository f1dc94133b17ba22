"""The open statistics (/statistics/ and /api/v1/statistics): public, the
same numbers in every format, small cells hidden everywhere."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.utils import timezone

from sekispe.insights.measures import BY_SLUG
from sekispe.insights.models import Fact, Refresh
from sekispe.opendata import tables

# Tokyo has 3 listed specialists for theme 1: a cell of 1-4 people.
SECRET = 3


@pytest.fixture
def facts(db):
    rows = []
    for code in ("13", "27", "01"):
        for theme in ("1", "2"):
            value = SECRET if (code, theme) == ("13", "1") else 20 + int(code) + int(theme)
            rows.append(Fact(measure="supply.listed", prefecture=code, theme=theme, value=value))
    for code in ("13", "27", "01"):
        rows.append(
            Fact(
                measure="supply.listed",
                prefecture=code,
                value=sum(f.value for f in rows if f.prefecture == code),
            )
        )
    for theme in ("1", "2"):
        rows.append(
            Fact(
                measure="supply.listed",
                theme=theme,
                value=sum(f.value for f in rows if f.theme == theme and f.prefecture),
            )
        )
    rows.append(
        Fact(measure="supply.listed", value=sum(f.value for f in rows if f.prefecture and f.theme))
    )
    Fact.objects.bulk_create(rows)
    now = timezone.now()
    Refresh.objects.create(started_at=now, finished_at=now, as_of=now.date(), cells=len(rows))


def _html_rows(html: str) -> list[list[str]]:
    table = html.split('id="statistics-table"', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        found.append(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row))
    return found


def _cells(table: list[list[str]]) -> list[str]:
    return [c for row in table for c in row[1:]]


def test_every_format_shows_the_same_table_and_hides_the_small_cell(facts, client) -> None:
    html = client.get("/statistics/supply.listed/")
    assert html.status_code == 200
    shown = _html_rows(html.content.decode())
    csv_bytes = client.get("/statistics/supply.listed.csv").content
    assert csv_bytes.startswith("\ufeff".encode())
    csv_rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    as_json = json.loads(client.get("/statistics/supply.listed.json").content)
    api = client.get("/api/v1/statistics/supply.listed").json()
    assert csv_rows[1:] == [[str(c) for c in row] for row in as_json["rows"]]
    assert [[str(c) for c in row] for row in api["rows"]] == [
        [str(c) for c in row] for row in as_json["rows"]
    ]
    # The HTML table: its header row is in thead and its body rows match.
    assert shown[1:] == [[str(c) for c in row] for row in as_json["rows"]]
    assert csv_rows[0] == as_json["header"] == api["header"]
    for cells in (
        _cells(shown[1:]),
        _cells(csv_rows[1:]),
        [str(c) for r in api["rows"] for c in r[1:]],
    ):
        assert str(SECRET) not in cells
        # The small cell and at least one complement in its row and column.
        assert cells.count(tables.HIDDEN) >= 4


def test_tables_of_searches_are_not_suppressed(db) -> None:
    Fact.objects.create(
        measure="demand.searches_by_form",
        month=timezone.now().date().replace(day=1),
        key="visit",
        value=2,
    )
    published = tables.build(BY_SLUG["demand.searches_by_form"])
    assert published.hidden == 0
    assert published.body()[0][1] == 2


def test_the_index_lists_every_public_measure_with_the_licence(facts, client) -> None:
    page = client.get("/statistics/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "public" in page["Cache-Control"]
    assert "政府標準利用規約（第2.0版）" in html and "CC BY 4.0" in html
    for measure in tables.PUBLIC:
        assert f"/statistics/{measure.slug}/" in html
    assert "registrants.projection" not in html
    api = client.get("/api/v1/statistics").json()
    assert [t["measure"] for t in api["tables"]] == [m.slug for m in tables.PUBLIC]


def test_unknown_and_private_tables_are_404(db, client) -> None:
    assert client.get("/statistics/nope/").status_code == 404
    assert client.get("/statistics/registrants.projection.csv").status_code == 404
    assert client.get("/api/v1/statistics/registrants.projection").status_code == 404


def test_every_public_table_renders_without_facts(db, client) -> None:
    for measure in tables.PUBLIC:
        assert client.get(f"/statistics/{measure.slug}/").status_code == 200


def test_the_openapi_document_lists_the_statistics_operations(client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/statistics" in paths
    assert "/api/v1/statistics/{measure}" in paths


def test_the_api_is_rate_limited_per_address(db, client, settings) -> None:
    settings.STATISTICS_API_PER_IP = (2, 3600)
    assert client.get("/api/v1/statistics").status_code == 200
    assert client.get("/api/v1/statistics/supply.listed").status_code == 200
    refused = client.get("/api/v1/statistics")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0


def test_a_table_is_built_once_per_refresh_and_again_after_the_next(facts, client) -> None:
    first = client.get("/statistics/supply.listed.json").json()
    # Facts written behind the refresh's back are not seen until the next refresh ...
    Fact.objects.filter(measure="supply.listed", prefecture="27", theme="2").update(value=1234)
    assert client.get("/statistics/supply.listed.json").json() == first
    # ... which the page, the download and the API then all show (the HTML with separators).
    now = timezone.now()
    Refresh.objects.create(started_at=now, finished_at=now, as_of=now.date(), cells=0)
    rows = client.get("/statistics/supply.listed.json").json()["rows"]
    assert 1234 in [cell for row in rows for cell in row]
    assert 1234 in [
        cell
        for row in client.get("/api/v1/statistics/supply.listed").json()["rows"]
        for cell in row
    ]
    assert "1,234" in client.get("/statistics/supply.listed/").content.decode()
