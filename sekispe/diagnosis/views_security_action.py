"""The SECURITY ACTION declaration page for SME accounts. Thin: parse, call
security_action, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sekispe.accounts.models import Role
from sekispe.core.permissions import role_required
from sekispe.diagnosis import security_action
from sekispe.diagnosis.forms import SecurityActionForm
from sekispe.diagnosis.models import SecurityActionLevel


def _initial(request: HttpRequest) -> dict[str, object]:
    initial: dict[str, object] = {
        "prefecture": security_action.default_prefecture(request.user),
    }
    wanted = request.GET.get("level", "")
    if wanted.isdigit() and int(wanted) in SecurityActionLevel.values:
        initial["level"] = int(wanted)
    return initial


@role_required(Role.SME)
@require_http_methods(["GET", "POST"])
def declarations(request: HttpRequest) -> HttpResponse:
    """SME accounts: record a declaration and see every one recorded."""
    status = 200
    if request.method == "POST":
        form = SecurityActionForm(request.POST)
        if form.is_valid():
            try:
                done = security_action.record(request.user, **form.cleaned_data)
            except security_action.DeclarationError as exc:
                form.add_error(exc.field, exc.message)
            else:
                if done.step_up:
                    messages.success(
                        request,
                        _("★から★★へのステップアップを記録しました。おめでとうございます。"),
                    )
                elif done.lower:
                    messages.info(
                        request,
                        _(
                            "これまでより低い段階の宣言として記録しました。"
                            "以前の宣言も履歴に残っています。"
                        ),
                    )
                else:
                    messages.success(request, _("SECURITY ACTION の宣言を記録しました。"))
                return redirect("diagnosis:security_action")
        status = 400
    else:
        form = SecurityActionForm(initial=_initial(request))
    context = {
        "form": form,
        "declarations": security_action.history(request.user),
        "current_level": security_action.current_level(request.user),
    }
    return render(request, "diagnosis/security_action.html", context, status=status)
