from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import Invitation, Role, User
from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.core.forms import TextRuleMixin


class UserCreationForm(TextRuleMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "role", "organization")
        field_classes: dict[str, Any] = {}

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        # A specialist account must be bound to a registry record, which only
        # an invitation does safely (the owner proves the address).
        if role == Role.SPECIALIST:
            raise forms.ValidationError(
                _("登録セキスペのアカウントは、運営者画面の招待から作成してください。")
            )
        return role

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        # Operators use the admin; nobody else is staff.
        user.is_staff = user.role == Role.OPERATOR
        if commit:
            user.save()
        return user


class UserChangeForm(TextRuleMixin, DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, Any] = {}


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    audit_prefix = "accounts"
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("プロフィール"), {"fields": ("role", "display_name", "organization", "record")}),
        (_("状態"), {"fields": ("is_active", "is_staff", "is_superuser", "email_verified_at")}),
        (_("日時"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "role", "organization", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined", "email_verified_at")
    # 24,000 records: a select list would be unusable.
    raw_id_fields = ("record",)
    list_display = ("email", "role", "organization", "is_active", "record")
    list_select_related = ("record",)
    list_filter = ("role", "is_active")
    search_fields = ("email", "organization", "record__registration_number")
    ordering = ("email",)
    filter_horizontal = ()


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent from the back office; the token hash is never shown."""

    list_display = (
        "record",
        "email",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "created_by",
    )
    list_select_related = ("record", "created_by")
    list_filter = ("used_at", "revoked_at")
    search_fields = ("email", "record__registration_number")
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
