"""必須 and 任意 next to labels (issue 15, point 9), as the Digital Agency design
system marks them: every label and legend Django renders for a form with the
text rule, and the hand-written ones of me/_field.html and inquiries/_field.html."""

from __future__ import annotations

import pytest
from django import forms
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from sekispe.core.forms import PlainLabelForm

REQUIRED = '<span class="field-tag field-tag-required">必須</span>'
OPTIONAL = '<span class="field-tag field-tag-optional">任意</span>'


class Mixed(PlainLabelForm):
    name = forms.CharField(label="会社名")
    note = forms.CharField(label="備考", required=False)
    size = forms.ChoiceField(
        label="規模", choices=[("s", "小"), ("l", "大")], widget=forms.RadioSelect
    )
    agree = forms.BooleanField(label="公開に同意する", required=False)


class AllOptional(PlainLabelForm):
    q = forms.CharField(label="キーワード", required=False)
    area = forms.ChoiceField(label="地域", required=False, choices=[("", "—")])


class AllRequired(PlainLabelForm):
    a = forms.CharField(label="氏名")
    b = forms.EmailField(label="メールアドレス")


class Unmarked(Mixed):
    mark_required_fields = False


def setup_module() -> None:
    translation.activate("ja")


def test_a_required_field_says_required_and_an_optional_one_optional():
    form = Mixed()
    assert form["name"].label_tag() == f'<label for="id_name">会社名 {REQUIRED}</label>'
    assert form["note"].label_tag() == f'<label for="id_note">備考 {OPTIONAL}</label>'


def test_a_radio_group_says_it_in_its_legend():
    html = Mixed()["size"].as_field_group()
    assert f"<legend>規模 {REQUIRED}</legend>" in html


def test_a_single_checkbox_is_never_optional():
    # Leaving it unticked is an answer; 任意 would say nothing.
    assert "field-tag" not in Mixed()["agree"].label_tag()


def test_a_form_of_optional_fields_marks_nothing():
    form = AllOptional()
    for name in form.fields:
        assert "field-tag" not in form[name].label_tag()


def test_a_form_of_required_fields_marks_each_required_and_none_optional():
    form = AllRequired()
    for name in form.fields:
        assert REQUIRED in form[name].label_tag()
        assert OPTIONAL not in form[name].label_tag()


def test_a_form_may_keep_its_own_marks():
    form = Unmarked()
    assert form["name"].label_tag() == '<label for="id_name">会社名</label>'


def test_the_hand_written_field_templates_mark_too():
    form = Mixed()
    html = render_to_string("me/_field.html", {"f": form["name"], "form": form})
    assert f'<label for="id_name">会社名 {REQUIRED}</label>' in html
    html = render_to_string("me/_field.html", {"f": form["note"], "form": form})
    assert f'<label for="id_note">備考 {OPTIONAL}</label>' in html
    html = render_to_string("inquiries/_field.html", {"field": form["name"]})
    assert f"会社名 {REQUIRED}</label>" in html
    for template in ("accounts/_field.html", "forms/_field.html"):
        html = render_to_string(template, {"field": form["name"]})
        assert f'<label for="id_name">会社名 {REQUIRED}</label>' in html, template
        html = render_to_string(template, {"field": form["note"]})
        assert f'<label for="id_note">備考 {OPTIONAL}</label>' in html, template


@pytest.mark.django_db
def test_the_inquiry_form_marks_its_fields(sme, specialist):
    client = Client()
    client.force_login(sme)
    html = client.get("/inquiries/new/100001/").content.decode()
    assert f'<label for="id_company_name">会社名 {REQUIRED}</label>' in html
    assert f'<label for="id_prefecture">所在地（都道府県） {REQUIRED}</label>' in html
    assert f'<label for="id_industry">業種（日本標準産業分類の大分類） {OPTIONAL}</label>' in html
    assert f"<legend>相談したいテーマ {REQUIRED}</legend>" in html
    assert "初回は無料の相談を希望する</span>" in html  # a checkbox: no tag


@pytest.mark.django_db
def test_the_listing_form_marks_its_choice_groups(specialist):
    client = Client()
    client.force_login(specialist)
    html = client.get("/me/listing/").content.decode()
    assert f"<legend>所属形態 {REQUIRED}</legend>" in html
    assert f"<legend>支援実績のある指導テーマ {OPTIONAL}</legend>" in html
