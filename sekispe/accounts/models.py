"""Accounts: one user model for every role, signing in with an e-mail address."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from sekispe.core.roles import Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=normalize_email(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("role", Role.OPERATOR)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))


def normalize_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively, so they are stored lower-cased."""
    return email.strip().lower()


def _new_session_token() -> str:
    return secrets.token_hex(16)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("メールアドレス"), max_length=254, unique=True)
    display_name = models.CharField(_("表示名"), max_length=100, blank=True)
    role = models.CharField(_("役割"), max_length=16, choices=Role.choices)
    # SMEs and institutions name their organisation; specialists take theirs from the registry.
    organization = models.CharField(_("会社・団体名"), max_length=100, blank=True)
    record = models.OneToOneField(
        "registry.RegistryRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account",
        verbose_name=_("登録簿レコード"),
    )
    is_active = models.BooleanField(_("有効"), default=True)
    # Operators use the Django admin; nobody else is staff.
    is_staff = models.BooleanField(_("管理サイトへのアクセス"), default=False)
    email_verified_at = models.DateTimeField(_("メール確認日時"), null=True, blank=True)
    date_joined = models.DateTimeField(_("登録日時"), default=timezone.now)
    # Part of the session hash: rotating it signs the user out of every session.
    session_token = models.CharField(max_length=32, default=_new_session_token, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("ユーザー")
        verbose_name_plural = _("ユーザー")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=models.Q(role="specialist", record__isnull=False)
                | (~models.Q(role="specialist") & models.Q(record__isnull=True)),
                name="specialist_has_record",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_session_auth_hash(self) -> str:
        """Django checks this on every request; including `session_token` lets
        "sign out everywhere" invalidate sessions without a password change."""
        key_salt = "sekispe.accounts.User.get_session_auth_hash"
        return salted_hmac(
            key_salt, f"{self.password}:{self.session_token}", algorithm="sha256"
        ).hexdigest()

    def get_session_auth_fallback_hash(self):  # type: ignore[override]
        # Fallback hashes exist for SECRET_KEY rotation; keep the same composition.
        from django.conf import settings

        key_salt = "sekispe.accounts.User.get_session_auth_hash"
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield salted_hmac(
                key_salt,
                f"{self.password}:{self.session_token}",
                secret=fallback_secret,
                algorithm="sha256",
            ).hexdigest()

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.role == Role.OPERATOR

    @property
    def is_specialist(self) -> bool:
        return self.is_active and self.role == Role.SPECIALIST

    def has_perm(self, perm: str, obj: object = None) -> bool:
        # Operators run the back office, the admin included; no other role has model permissions.
        if self.is_operator:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_operator or super().has_module_perms(app_label)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def usable(self) -> InvitationQuerySet:
        return self.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use link that binds a new specialist account to one registry record.

    Only the SHA-256 of the token is stored, so a database leak yields no usable links.
    """

    record = models.ForeignKey(
        "registry.RegistryRecord", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("送信先メールアドレス"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("招待者")
    )
    expires_at = models.DateTimeField(_("有効期限"))
    used_at = models.DateTimeField(_("使用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("取消日時"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("招待")
        verbose_name_plural = _("招待")

    def __str__(self) -> str:
        return f"{self.record_id} → {self.email}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class ContactChangeState(models.TextChoices):
    OPEN = "open", _("未対応")
    APPLIED = "applied", _("登録簿に反映済み")
    DISMISSED = "dismissed", _("対応しない")


class ContactChangeRequest(models.Model):
    """Someone without an account asks IPA to correct the registry e-mail.

    Kept apart from `RegistrantRequest`, which needs a record: this one holds
    the registration number as typed, unchecked, so storing it tells nobody
    whether the number exists. An operator verifies the person offline.
    """

    registration_number = models.CharField(_("登録番号"), max_length=16)
    name = models.CharField(_("氏名"), max_length=64)
    name_kana = models.CharField(_("氏名（カナ）"), max_length=128)
    new_email = models.EmailField(_("新しいメールアドレス"))
    phone = models.CharField(_("電話番号"), max_length=32, blank=True)
    reason = models.TextField(_("変更の理由"), max_length=1000)
    state = models.CharField(
        _("状態"),
        max_length=16,
        choices=ContactChangeState.choices,
        default=ContactChangeState.OPEN,
    )
    submitted_at = models.DateTimeField(_("受付日時"), default=timezone.now)
    handled_at = models.DateTimeField(_("対応日時"), null=True, blank=True)
    handled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    operator_note = models.TextField(_("運営者のメモ"), blank=True)

    class Meta:
        ordering = ["submitted_at", "pk"]
        verbose_name = _("連絡先変更の依頼（アカウントなし）")
        verbose_name_plural = _("連絡先変更の依頼（アカウントなし）")
        indexes = [models.Index(fields=["state", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.registration_number} {self.get_state_display()}"
