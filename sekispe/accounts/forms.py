"""Account forms. They only parse and validate; the views call the services.

Django (5.2) links each widget to its help text and error list with
`aria-describedby` and marks it `aria-invalid`, so the templates render
fields with `as_field_group` and an error summary on top.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.template import loader
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sekispe.accounts import services
from sekispe.accounts.models import Role, User, normalize_email
from sekispe.core.forms import TextRuleMixin
from sekispe.outbox.services import queue_message


def _email_field(**extra: Any) -> forms.EmailField:
    return forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", **extra}),
    )


def _password_fields() -> tuple[forms.CharField, forms.CharField]:
    # Django's pair carries the validators' help text and autocomplete="new-password".
    return SetPasswordMixin.create_password_fields(
        label1=_("パスワード"), label2=_("パスワード（確認用）")
    )


def throttled_message(minutes: int) -> str:
    """What a refused sign-in or password check says, wherever it happens."""
    return ngettext(
        "ログインの試行回数が上限に達しました。%(n)d分後にもう一度お試しください。",
        "ログインの試行回数が上限に達しました。%(n)d分後にもう一度お試しください。",
        minutes,
    ) % {"n": minutes}


class LoginForm(TextRuleMixin, forms.Form):
    email = _email_field(autofocus=True)
    password = forms.CharField(
        label=_("パスワード"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])


class SignupForm(TextRuleMixin, SetPasswordMixin, forms.Form):
    """SME self-registration."""

    organization = forms.CharField(
        label=_("会社名"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    display_name = forms.CharField(
        label=_("担当者名"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = _email_field()
    password1, password2 = _password_fields()

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.validate_passwords()
        # An unsaved user lets the similarity validator compare with the address.
        self.validate_password_for_user(
            User(
                email=cleaned.get("email", ""),
                organization=cleaned.get("organization", ""),
                display_name=cleaned.get("display_name", ""),
                role=Role.SME,
            )
        )
        return cleaned


class InvitationPasswordForm(TextRuleMixin, SetPasswordMixin, forms.Form):
    """The invited specialist only chooses a password: the record comes from the link."""

    password1, password2 = _password_fields()

    def __init__(self, *args: Any, email: str, name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._user_hint = User(email=email, display_name=name, role=Role.SPECIALIST)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.validate_passwords()
        self.validate_password_for_user(self._user_hint)
        return cleaned


class PasswordResetForm(TextRuleMixin, auth_forms.PasswordResetForm):
    email = _email_field(autofocus=True)

    def get_users(self, email: str) -> Any:
        """Active users with this address, including those with no password yet.

        Django skips unusable passwords, but an institution account starts
        without one (its owner sets it from the welcome e-mail); if that
        e-mail is lost or expired, the reset form is how they get a new link.
        Inactive users (unverified SMEs, disabled accounts) still get nothing.
        """
        return get_user_model()._default_manager.filter(
            email=normalize_email(email), is_active=True
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Links are built from SITE_URL, never from the request's Host header.
        extra = dict(kwargs.pop("extra_email_context", None) or {})
        extra.setdefault("site_url", settings.SITE_URL.rstrip("/"))
        extra.setdefault("valid_hours", max(1, settings.PASSWORD_RESET_TIMEOUT // 3600))
        super().save(*args, extra_email_context=extra, **kwargs)

    def _queue_reset_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Queue the reset link in the outbox instead of talking to SMTP in the request."""
        subject = loader.render_to_string(subject_template_name, context)
        body = loader.render_to_string(email_template_name, context)
        queue_message(to_email, subject, body, template="password_reset")

    # Django's PasswordResetForm.save() hands each message to self.send_mail;
    # here that queues it in the outbox, so the request never talks to SMTP.
    send_mail = _queue_reset_mail


class PasswordChangeForm(TextRuleMixin, auth_forms.PasswordChangeForm):
    """Django's form, with the old password checked within the sign-in budgets.

    Django checks it with `user.check_password`, not `authenticate`, so the
    backend's throttle would not see it; a stolen session must not become a
    way to guess the password unthrottled.
    """

    def __init__(self, user: Any, *args: Any, request: Any = None, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            correct = services.checked_password(
                self.request, self.user.email, lambda: self.user.check_password(old_password)
            )
        except services.LoginThrottled as exc:
            raise ValidationError(
                throttled_message(exc.throttle.retry_after_minutes), code="throttled"
            ) from exc
        if not correct:
            raise ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
