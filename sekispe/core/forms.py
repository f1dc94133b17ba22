"""Form pieces every app's forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class PlainLabelForm(forms.Form):
    """No colon after labels: they read as Japanese headings."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def with_blank(choices: Any) -> list[tuple[str, Any]]:
    """An optional select's choices, led by 「選ばない」."""
    return [("", _("選ばない")), *choices]
