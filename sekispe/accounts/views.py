"""Account pages: sign-in and out, sign-up, invitations, passwords.

Thin: parse the form, call `accounts.services`, render or redirect. Pages
marked "Public" serve anonymous visitors; every other view goes through
`role_required`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from sekispe.accounts import forms, services
from sekispe.accounts.models import Role
from sekispe.core import ratelimit
from sekispe.core.permissions import role_required

any_role = role_required(*Role.values)

# Where each role works; anyone else starts from the public search.
ROLE_START = {
    Role.SPECIALIST: "/me/listing/",
    Role.OPERATOR: "/ops/",
}
SEARCH_PATH = "/specialists/"


def _landing(user: object) -> str:
    # A registrant's natural home is their front page (/me/); everyone else
    # starts from the account page.
    if getattr(user, "role", "") == Role.SPECIALIST:
        return reverse("me:home")
    return reverse("accounts:home")


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _posted(request: HttpRequest) -> object:
    # Bound even when a POST is empty, so missing fields show as errors.
    return request.POST if request.method == "POST" else None


# ------------------------------------------------------------------ sign-in


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    """Public. Throttled per account and per address before the password is checked
    (by the authentication backend; see `services.checked_password`)."""
    next_url = _safe_next(request)
    form = forms.LoginForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        # The backend takes the budgets before it checks the password (one
        # place for every login, admin's included).
        user = authenticate(request, username=email, password=form.cleaned_data["password"])
        refusal = services.login_refusal(request)
        if refusal is not None:
            n = refusal.retry_after_minutes
            form.add_error(None, forms.throttled_message(n))
            context = {"form": form, "next": next_url}
            response = render(request, "accounts/login.html", context, status=429)
            response["Retry-After"] = str(n * 60)
            return response
        if user is None:
            # The same words whether the address is unknown, unverified or the password wrong.
            form.add_error(None, _("メールアドレスまたはパスワードが正しくありません。"))
            status = 400
        else:
            login(request, user)
            return redirect(next_url or _landing(user))
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


class LogoutView(auth_views.LogoutView):
    """Public, POST only (Django answers GET with 405)."""

    next_page = reverse_lazy("pages:home")


@any_role
@require_http_methods(["GET", "POST"])
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """Any role. GET asks for confirmation; POST ends every session of the user."""
    if request.method == "POST":
        services.sign_out_everywhere(request.user)
        logout(request)
        messages.success(request, _("すべての端末からログアウトしました。"))
        return redirect("accounts:login")
    return render(request, "accounts/logout_everywhere.html")


@any_role
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    """Any role: who am I, and where do I go from here."""
    user = request.user
    return render(
        request,
        "accounts/home.html",
        {"start_url": ROLE_START.get(user.role, SEARCH_PATH), "record": user.record},
    )


# ------------------------------------------------------------------ sign-up


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Public. SME self-registration; the reply never tells whether the address exists."""
    if request.user.is_authenticated:
        return render(request, "accounts/signup.html", {"signed_in": True})
    form = forms.SignupForm(_posted(request))
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/signup.html", {"form": form}, status=400)
        decision = ratelimit.hit(
            ratelimit.ip_key("signup", request), ratelimit.rule("SIGNUPS_PER_IP")
        )
        if not decision.allowed:
            response = render(request, "accounts/signup_limited.html", status=429)
            response["Retry-After"] = str(max(1, int(decision.retry_after.total_seconds())))
            return response
        data = form.cleaned_data
        services.register_sme(
            data["email"],
            data["password1"],
            organization=data["organization"],
            display_name=data["display_name"],
        )
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


@require_http_methods(["GET"])
def signup_sent(request: HttpRequest) -> HttpResponse:
    """Public."""
    return render(request, "accounts/signup_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """Public. Only the POST verifies, so mail scanners that fetch links change nothing."""
    if request.method == "POST":
        try:
            user = services.verify_email(uidb64, token)
        except services.AccountError as exc:
            return render(
                request, "accounts/verify_invalid.html", {"error": exc.message}, status=400
            )
        login(request, user)
        messages.success(request, _("メールアドレスを確認しました。ご登録ありがとうございます。"))
        return redirect("accounts:home")
    return render(request, "accounts/verify_email.html")


# -------------------------------------------------------------- invitations


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Public (anonymous visitors only). The record and address come from the invitation."""
    if request.user.is_authenticated:
        return render(request, "accounts/invitation.html", {"signed_in": True})
    invitation = services.find_invitation(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = forms.InvitationPasswordForm(
        _posted(request), email=invitation.email, name=invitation.record.name
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                # Only the token and password are passed: posted record or
                # number fields, if any, never reach the service.
                user = services.accept_invitation(token, form.cleaned_data["password1"])
            except services.AccountError as exc:
                form.add_error(None, exc.message)
            else:
                login(request, user)
                messages.success(
                    request,
                    _("アカウントを作成しました。掲載情報を入力して、審査に提出してください。"),
                )
                return redirect(ROLE_START[Role.SPECIALIST])
        status = 400
    context = {"form": form, "invitation": invitation, "record": invitation.record}
    return render(request, "accounts/invitation.html", context, status=status)


# ----------------------------------------------------------------- passwords


class PasswordResetView(auth_views.PasswordResetView):
    """Public. Always continues to the same "sent if registered" page."""

    form_class = forms.PasswordResetForm
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.html"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: forms.PasswordResetForm) -> HttpResponse:
        # Past the per-address or per-target limit nothing is queued, and the
        # answer is the same redirect, so it tells nothing about the limit.
        if services.password_reset_allowed(self.request, form.cleaned_data["email"]):
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """Public."""


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Public; the link in the e-mail (also the institution welcome link)."""

    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    """Public."""


class PasswordChangeView(auth_views.PasswordChangeView):
    """Any role. The old password is checked within the sign-in budgets."""

    form_class = forms.PasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def get_form_kwargs(self) -> dict:
        return {**super().get_form_kwargs(), "request": self.request}


password_change = any_role(PasswordChangeView.as_view())
password_change_done = any_role(
    auth_views.PasswordChangeDoneView.as_view(
        template_name="accounts/password_change_done.html",
    )
)
