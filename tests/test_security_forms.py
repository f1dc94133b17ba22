"""Issue 13, findings 4, 9 and 10 across every form: no form in sekispe takes
text without the text rule (sekispe/lib/text.py, applied by TextRuleMixin)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from django import forms

import sekispe
from sekispe.core.forms import TextRuleMixin

pytestmark = pytest.mark.django_db


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _sekispe_forms() -> list[type]:
    for module in pkgutil.walk_packages(sekispe.__path__, "sekispe."):
        leaf = module.name.rsplit(".", 1)[-1]
        if leaf == "forms" or leaf.startswith("views"):
            importlib.import_module(module.name)
    return sorted(
        (c for c in _subclasses(forms.BaseForm) if c.__module__.startswith("sekispe.")),
        key=lambda c: f"{c.__module__}.{c.__qualname__}",
    )


def test_finding_04_09_10_every_form_in_sekispe_applies_the_text_rule():
    found = _sekispe_forms()
    assert len(found) > 30
    missing = [
        f"{c.__module__}.{c.__qualname__}" for c in found if not issubclass(c, TextRuleMixin)
    ]
    assert not missing, missing


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("/accounts/login/", {"email": "a@example.jp\u202e", "password": "x"}, "email"),
        (
            "/accounts/signup/",
            {
                "email": "new@example.jp",
                "organization": "株式会社\r\nBcc: evil@example.jp",
                "display_name": "担当",
                "password1": "a-long-enough-pass-2026",
                "password2": "a-long-enough-pass-2026",
            },
            "organization",
        ),
        ("/registry/", {"q": "山田\u200b太郎"}, "q"),
    ],
)
def test_finding_04_10_account_and_registry_forms_refuse_hidden_and_broken_text(
    client, path, data, field
):
    method = client.get if path == "/registry/" else client.post
    response = method(path, data)
    assert response.status_code in (200, 400)
    page = response.content.decode()
    assert ("見えない書式文字" in page) or ("改行は入力できません" in page), page[:3000]
