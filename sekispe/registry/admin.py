from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from sekispe.audit.admin_mixins import AuditedAdminMixin
from sekispe.audit.services import record_event
from sekispe.core.forms import TextRuleMixin
from sekispe.registry.models import (
    CourseCompletion,
    CourseKind,
    RegistryRecord,
    RegistryStatus,
    Reminder,
    ReminderState,
)


class CourseCompletionForm(TextRuleMixin, forms.ModelForm):
    """A deemed-attendance credit comes and goes only with its application's
    decision (registry.services.grant_deemed_credit / withdraw_deemed_credit),
    so the admin neither makes one nor turns one into another kind. The admin
    gives the model and fields (modelform_factory)."""

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        before = self.instance.kind if self.instance.pk else None
        if CourseKind.DEEMED in (kind, before) and kind != before:
            raise forms.ValidationError(
                _("みなし受講の記録は、みなし受講の申請の承認と取消でのみ変わります。")
            )
        return kind

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.instance.pk and self.instance.kind == CourseKind.DEEMED and self.has_changed():
            raise forms.ValidationError(
                _("みなし受講の記録は、みなし受講の申請の承認と取消でのみ変わります。")
            )
        return cleaned


class CourseFormSet(forms.BaseInlineFormSet):
    """Deleting a deemed credit here would bypass withdraw_deemed_credit."""

    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and form.instance.kind == CourseKind.DEEMED:
                raise forms.ValidationError(
                    _("みなし受講の記録は、みなし受講の申請の承認と取消でのみ変わります。")
                )


class RegistryRecordForm(TextRuleMixin, forms.ModelForm):
    """Revocation (登録取消) is reached only through registry.services.revoke_registration.

    The admin gives the model and fields (modelform_factory)."""

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        before = self.instance.status if self.instance.pk else None
        if status == RegistryStatus.REVOKED and before != RegistryStatus.REVOKED:
            raise forms.ValidationError(
                _("登録取消は、取消の手続（みなし受講の取消案件）からのみ行えます。")
            )
        return status


class CourseInline(admin.TabularInline):
    model = CourseCompletion
    form = CourseCompletionForm
    formset = CourseFormSet
    extra = 0


@admin.register(RegistryRecord)
class RegistryRecordAdmin(AuditedAdminMixin, SimpleHistoryAdmin):
    audit_prefix = "registry"
    form = RegistryRecordForm
    list_display = (
        "registration_number",
        "name",
        "name_kana",
        "home_prefecture",
        "status",
        "registered_on",
        "expires_on",
        "renewal_count",
    )
    list_filter = ("status", "home_prefecture__block")
    search_fields = ("registration_number", "name", "name_kana")
    readonly_fields = ("ops_link",)
    inlines = [CourseInline]

    @admin.display(description=_("運営者画面"))
    def ops_link(self, obj: RegistryRecord) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("backoffice:record", args=[obj.pk]),
            _("招待の送信と変更履歴は運営者画面で行います"),
        )


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Where an operator resolves a reminder left in `sending` by a crash: after
    checking the mail log, either mark it sent or hand it back to the next run."""

    list_display = ("record", "kind", "key", "state", "email", "created_at", "sent_at", "error")
    list_filter = ("state", "kind")
    search_fields = ("record__registration_number", "email")
    readonly_fields = [f.name for f in Reminder._meta.fields]
    actions = ("mark_sent", "return_to_pending")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Reminder | None = None) -> bool:
        # A deleted row would let the next run send the same reminder again.
        return False

    @admin.action(description=_("送信済みにする（メールの送信を確認済み）"))
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        self._move(request, queryset, ReminderState.SENT, sent_at=timezone.now())

    @admin.action(description=_("送信待ちに戻す（次回の実行で送信）"))
    def return_to_pending(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        self._move(request, queryset, ReminderState.PENDING)

    def _move(
        self, request: HttpRequest, queryset: QuerySet[Reminder], state: str, **fields: Any
    ) -> None:
        # Only stuck or failed rows move: a sent reminder must never be sent again.
        movable = queryset.filter(state__in=[ReminderState.SENDING, ReminderState.FAILED])
        with transaction.atomic():
            ids = list(movable.values_list("pk", flat=True))
            movable.update(state=state, **fields)
            record_event(
                "registry.reminder_resolved",
                actor=request.user,
                target_type="reminder",
                data={"ids": ids, "state": state},
            )
        self.message_user(
            request,
            _("%(n)d 件を「%(state)s」にしました。")
            % {"n": len(ids), "state": ReminderState(state).label},
        )
