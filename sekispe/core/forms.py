"""Form pieces every app's forms share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sekispe.lib.text import UnsafeText, clean_free_text, clean_single_line


def unsafe_text_message(exc: UnsafeText) -> str:
    """The Japanese message for text the text rule refuses (sekispe.lib.text)."""
    if exc.kind == "newline":
        return gettext("改行は入力できません。1行で入力してください。")
    if exc.kind == "invisible":
        return gettext(
            "見えない書式文字（%(code)s）は入力できません。削除してから入力し直してください。"
        ) % {"code": exc.code_point}
    return gettext("制御文字（%(code)s）は入力できません。") % {"code": exc.code_point}


def _guarded(to_python: Callable[[Any], Any], clean: Callable[[str], str]) -> Callable[[Any], Any]:
    def guarded(value: Any) -> Any:
        value = to_python(value)
        if isinstance(value, str):
            try:
                value = clean(value)
            except UnsafeText as exc:
                raise ValidationError(unsafe_text_message(exc), code="unsafe_text") from None
        return value

    return guarded


class TextRuleMixin:
    """Applies the text rule to every CharField (EmailField, SlugField, … included).

    A Textarea is free text: control characters other than tab and line breaks
    are refused and invisible formatting characters removed. Any other widget is
    single-line: line breaks, control and invisible characters are refused, so a
    value can go into a mail header or a name on a public page as is. Password
    fields are left alone: they are compared, never shown. Works on to_python,
    before the field's validators (max_length counts what is stored).
    """

    fields: dict[str, forms.Field]

    # Every label and legend Django renders (label_tag, legend_tag,
    # as_field_group) says 必須 or 任意 (forms/_marker.html); hand-written
    # labels include that marker too. A form that marks its fields its own way
    # sets mark_required_fields = False.
    template_name_label = "forms/label.html"
    mark_required_fields = True

    @property
    def marks_optional(self) -> bool:
        """Whether optional fields say 任意: only in a form that also has
        required ones (in a form of optional fields, such as a filter, the
        word would be on every field and say nothing)."""
        if not hasattr(self, "_marks_optional"):
            visible = [bf.field for bf in self.visible_fields()]  # type: ignore[attr-defined]
            self._marks_optional = any(f.required for f in visible) and any(
                not f.required and not isinstance(f.widget, forms.CheckboxInput) for f in visible
            )
        return self._marks_optional

    def full_clean(self) -> None:
        # Here rather than in __init__, so fields a subclass adds in its own
        # __init__ are covered too; self.fields holds per-instance copies.
        for field in self.fields.values():
            if (
                not isinstance(field, forms.CharField)
                or isinstance(field.widget, forms.PasswordInput)
                or getattr(field, "_text_rule", False)
            ):
                continue
            multiline = isinstance(field.widget, forms.Textarea)
            clean = clean_free_text if multiline else clean_single_line
            field.to_python = _guarded(field.to_python, clean)  # type: ignore[method-assign]
            field._text_rule = True  # type: ignore[attr-defined]
        super().full_clean()  # type: ignore[misc]


class PlainLabelForm(TextRuleMixin, forms.Form):
    """No colon after labels: they read as Japanese headings. Text rule applied."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def names_itself(field: forms.Field) -> forms.Field:
    """Marks a field whose error messages already name it (「設問3に答えてください。」),
    so the error summary shows the message alone instead of 「label：message」."""
    field.error_names_field = True  # type: ignore[attr-defined]
    return field


def with_blank(choices: Any) -> list[tuple[str, Any]]:
    """An optional select's choices, led by 「選ばない」."""
    return [("", _("選ばない")), *choices]
