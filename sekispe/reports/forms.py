"""The parameter forms of the report pages (GET forms: they only parse and validate).

Choices depend on today (the latest fiscal year, the current half), so the
views pass `today` in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sekispe.core.forms import TextRuleMixin
from sekispe.lib.dates import fiscal_year
from sekispe.reports.services import FIRST_FISCAL_YEAR, HalfYear, ja_date

FIRST_DAY = dt.date(FIRST_FISCAL_YEAR, 10, 1)


def _date_widget() -> forms.DateInput:
    # type=date submits ISO dates whatever the browser's language.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportForm(TextRuleMixin, forms.Form):
    # Fields shown together in a fieldset: (legend, field names).
    groups_spec: tuple[tuple[Any, tuple[str, ...]], ...] = ()

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.today = today

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """(legend or None, fields) in field order, for the template."""
        grouped = {name: legend for legend, names in self.groups_spec for name in names}
        result: list[tuple[Any, list[forms.BoundField]]] = []
        for field in self:
            legend = grouped.get(field.name)
            if legend is not None and result and result[-1][0] == legend:
                result[-1][1].append(field)
            else:
                result.append((legend, [field]))
        return result

    def params(self) -> dict[str, str]:
        """The query parameters that reproduce this form's report (for export links)."""
        raise NotImplementedError


class AsOfForm(ReportForm):
    as_of = forms.DateField(
        label=gettext_lazy("基準日"),
        help_text=gettext_lazy("半期ごとの報告では4月1日または10月1日です。"),
        widget=_date_widget(),
    )

    def clean_as_of(self) -> dt.date:
        day: dt.date = self.cleaned_data["as_of"]
        if day < FIRST_DAY:
            raise forms.ValidationError(
                _("%(day)s より前の日付は指定できません。") % {"day": ja_date(FIRST_DAY)}
            )
        if day > self.today:
            raise forms.ValidationError(_("今日より後の日付は指定できません。"))
        return day

    def params(self) -> dict[str, str]:
        return {"as_of": self.cleaned_data["as_of"].isoformat()}


class PeriodForm(ReportForm):
    half = forms.ChoiceField(label=gettext_lazy("半期"), required=False)
    start = forms.DateField(label=gettext_lazy("初日"), required=False, widget=_date_widget())
    end = forms.DateField(label=gettext_lazy("末日"), required=False, widget=_date_widget())

    groups_spec = ((gettext_lazy("半期以外の期間を指定する場合"), ("start", "end")),)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        halves = []
        half = HalfYear.containing(self.today)
        while half.fiscal_year >= FIRST_FISCAL_YEAR:
            halves.append(
                (half.code, f"{half.label}（{ja_date(half.start)}〜{ja_date(half.end)}）")
            )
            half = half.previous()
        self.fields["half"].choices = [("", _("（期間を指定する）")), *halves]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code, start, end = data.get("half"), data.get("start"), data.get("end")
        if self.errors:
            return data
        if code:
            if start or end:
                raise forms.ValidationError(
                    _("半期を選ぶか期間を入力するか、どちらか一方にしてください。")
                )
            half = HalfYear.parse(code)
            data.update(start=half.start, end=half.end, label=half.label)
            return data
        if not (start or end):
            raise forms.ValidationError(_("半期を選ぶか、期間の初日と末日を入力してください。"))
        if not start:
            self.add_error("start", _("期間の初日を入力してください。"))
        if not end:
            self.add_error("end", _("期間の末日を入力してください。"))
        if start and end and start > end:
            self.add_error("end", _("末日は初日と同じ日か、それより後の日付にしてください。"))
        data["label"] = ""
        return data

    def params(self) -> dict[str, str]:
        if self.cleaned_data.get("half"):
            return {"half": self.cleaned_data["half"]}
        return {
            "start": self.cleaned_data["start"].isoformat(),
            "end": self.cleaned_data["end"].isoformat(),
        }


class FiscalYearForm(ReportForm):
    fy = forms.TypedChoiceField(label=gettext_lazy("年度"), coerce=int)
    # The first fiscal year the report can have data for.
    first_year = FIRST_FISCAL_YEAR

    def __init__(self, *args: Any, latest_offset: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        latest = fiscal_year(self.today) + latest_offset
        self.fields["fy"].choices = [
            (year, _("%(year)s年度") % {"year": year})
            for year in range(latest, min(self.first_year, latest) - 1, -1)
        ]

    def params(self) -> dict[str, str]:
        return {"fy": str(self.cleaned_data["fy"])}


class DeemedYearForm(FiscalYearForm):
    # 003: deemed attendance starts during FY2026 (令和8年度中).
    first_year = 2026
