"""The public search service pages. Thin: parse, call `registry.public`, render.

Public (anyone, no sign-in) and read-only: a plain GET form that works without
JavaScript.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from sekispe.core.api import InvalidQuery
from sekispe.core.forms import TextRuleMixin
from sekispe.reference import data
from sekispe.registry import public
from sekispe.registry.models import PublishedItem


class RegistrySearchForm(TextRuleMixin, forms.Form):
    """Renders the fields and carries the errors; the rules live in
    `public.parse_query`, shared with the API, so no validation is set here."""

    q = forms.CharField(
        label=_("登録番号・氏名・フリガナ"),
        required=False,
        help_text=_(
            "登録番号は6桁の数字で入力してください。氏名・フリガナは一部だけでも検索できます"
            "（空白の有無、ひらがな・カタカナの違いは問いません）。"
        ),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    prefecture = forms.CharField(label=_("自宅都道府県"), required=False, widget=forms.Select)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        # Built per request: the options follow the page's language.
        english = (get_language() or "").startswith("en")
        self.fields["prefecture"].widget.choices = [
            ("", _("指定しない")),
            *((p.code, p.name_en if english else p.name) for p in data.PREFECTURES),
        ]


def _always_public() -> list[str]:
    return [
        str(_("登録番号")),
        str(_("有効期限")),
        str(_("更新申請期限")),
        str(_("更新回数")),
        str(_("実践講習・特定講習の受講履歴")),
    ]


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    """Public. Without any criterion the page shows the form and guidance, never
    the whole registry; invalid parameters re-render the form with status 400."""
    today = timezone.localdate()
    form = RegistrySearchForm(request.GET or None)
    query = None
    page = None
    results: list[public.PublicEntry] = []
    if form.is_bound and form.is_valid():
        try:
            query = public.parse_query(form.cleaned_data["q"], form.cleaned_data["prefecture"])
        except InvalidQuery as exc:
            form.add_error(exc.field, exc.message.removeprefix(f"{exc.field}: "))
        else:
            # Re-bound with the canonical values so a prefecture given by name
            # (?prefecture=大阪府) shows as selected.
            form = RegistrySearchForm({"q": query.q, "prefecture": query.prefecture or ""})
            form.is_valid()
    if query is not None and not query.empty:
        paginator = Paginator(public.matching_ids(query, today), public.PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
        results = public.entries(page.object_list, today)
    context = {
        "form": form,
        "query": query,
        "page": page,
        "results": results,
        "always_public": _always_public(),
        "optional_items": [str(item.label) for item in PublishedItem],
    }
    return render(
        request, "registry/public_search.html", context, status=400 if form.errors else 200
    )


@require_GET
def record_page(request: HttpRequest, registration_number: str) -> HttpResponse:
    """Public; 404 for anyone not registered today."""
    try:
        entry = public.get_entry(registration_number, timezone.localdate())
    except LookupError:
        raise Http404 from None
    return render(
        request,
        "registry/public_record.html",
        {
            "entry": entry,
            "always_public": _always_public(),
            "optional_items": [str(item.label) for item in PublishedItem],
        },
    )
