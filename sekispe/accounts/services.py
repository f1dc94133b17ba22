"""Accounts: how each role gets an account, sign-in throttling, sign-out everywhere.

- Operators create institution accounts (`create_institution_account`) and
  read-only policy accounts (`create_analyst_account`).
- SMEs sign up themselves and verify their e-mail (`register_sme`, `verify_email`).
- Specialists only through an operator's invitation from the registry record
  (`invite_specialist`, `accept_invitation`): the link binds the account to
  that record, so nobody claims a registration number by typing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from sekispe.accounts.models import Invitation, Role, User, normalize_email
from sekispe.audit.services import record_event
from sekispe.core import ratelimit
from sekispe.core.mail import site_url
from sekispe.listings.lifecycle import start_listing
from sekispe.outbox.services import queue_templated
from sekispe.registry.models import RegistryRecord, RegistryStatus


class AccountError(Exception):
    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


# ---------------------------------------------------------------- invitations


def invite_specialist(record: RegistryRecord, email: str, *, actor: User) -> str:
    """Send a single-use invitation to `email`, bound to `record`. Returns the token.

    Earlier unused invitations for the record are revoked, so only the newest
    link works.
    """
    if not actor.is_operator:
        raise AccountError(_("招待を送れるのは運営者だけです。"))
    if record.status != RegistryStatus.ACTIVE:
        raise AccountError(_("登録が有効でない登録セキスペは招待できません。"))
    if User.objects.filter(record=record).exists():
        raise AccountError(_("この登録番号にはすでにアカウントがあります。"))
    email = normalize_email(email)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(record=record).usable().update(revoked_at=now)
        invitation = Invitation.objects.create(
            record=record,
            email=email,
            token_hash=Invitation.hash_token(token),
            created_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        record_event(
            "accounts.invite",
            actor=actor,
            target_type="registry_record",
            target_id=record.pk,
            data={"email": email, "invitation": invitation.pk},
        )
        queue_templated(
            "invitation",
            email,
            {
                "name": record.name,
                "url": site_url(f"/accounts/invitation/{token}/"),
                "expires_at": invitation.expires_at,
            },
        )
    return token


def find_invitation(token: str) -> Invitation | None:
    """The usable invitation for `token`, or None (unknown, used, revoked or expired)."""
    return (
        Invitation.objects.usable()
        .select_related("record")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )


def accept_invitation(token: str, password: str) -> User:
    """Create the specialist's account for the invitation's record and use up the link."""
    now = timezone.now()
    with transaction.atomic():
        invitation = find_invitation(token)
        if invitation is None:
            raise AccountError(_("この招待リンクは無効か、有効期限が切れています。"))
        # Claim first: of two concurrent accepts, exactly one gets the row.
        claimed = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
            used_at=now
        )
        if claimed != 1:
            raise AccountError(_("この招待リンクはすでに使用されています。"))
        if User.objects.filter(email=invitation.email).exists():
            raise AccountError(
                _(
                    "このメールアドレスはすでに別のアカウントで使われています。運営者にご連絡ください。"
                )
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    invitation.email,
                    password,
                    role=Role.SPECIALIST,
                    record=invitation.record,
                    display_name=invitation.record.name,
                    email_verified_at=now,  # the link arrived at this address
                )
        except IntegrityError as exc:
            raise AccountError(_("この登録番号にはすでにアカウントがあります。")) from exc
        start_listing(invitation.record, actor=user)
        record_event(
            "accounts.invitation_accepted",
            actor=user,
            target_type="registry_record",
            target_id=invitation.record_id,
            data={"invitation": invitation.pk},
        )
    return user


# ------------------------------------------------------------------ SME signup


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """Valid until used: verifying changes `email_verified_at`, which is in the hash."""

    key_salt = "sekispe.accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:  # type: ignore[override]
        return f"{user.pk}{user.email}{user.email_verified_at}{user.is_active}{timestamp}"


verification_tokens = EmailVerificationTokenGenerator()


def register_sme(email: str, password: str, *, organization: str, display_name: str) -> User | None:
    """Create an inactive SME account and e-mail a verification link.

    If the address already has an account, that owner gets a notice instead
    and the caller sees the same result, so the form never reveals who is
    registered.
    """
    email = normalize_email(email)
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        # Hash the password anyway, as creating the account would: without
        # this work a known address answered in a few ms and a new one after
        # an argon2 hash, which told who is registered.
        make_password(password)
        if existing.role == Role.SME and not existing.is_active and not existing.email_verified_at:
            # The first verification e-mail was lost: send a fresh link instead.
            _send_verification(existing)
        else:
            queue_templated("signup_exists", email, {"login_url": site_url("/accounts/login/")})
        return None
    with transaction.atomic():
        user = User.objects.create_user(
            email,
            password,
            role=Role.SME,
            organization=organization.strip(),
            display_name=display_name.strip(),
            is_active=False,
        )
        record_event("accounts.sme_signup", actor=None, actor_label=email, target_type="user",
                     target_id=user.pk)  # fmt: skip
        _send_verification(user)
    return user


def _send_verification(user: User) -> None:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = verification_tokens.make_token(user)
    queue_templated(
        "verify_email",
        user.email,
        {"url": site_url(f"/accounts/verify/{uid}/{token}/"), "user": user},
    )


def verify_email(uidb64: str, token: str) -> User:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise AccountError(_("確認リンクが正しくありません。")) from exc
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=pk, role=Role.SME).first()
        if user is None or not verification_tokens.check_token(user, token):
            raise AccountError(_("確認リンクが無効か、有効期限が切れています。"))
        user.is_active = True
        user.email_verified_at = timezone.now()
        user.save(update_fields=["is_active", "email_verified_at"])
        record_event("accounts.email_verified", actor=user, target_type="user", target_id=user.pk)
    return user


# ------------------------------------------------------------ institutions


def create_institution_account(
    email: str, *, organization: str, display_name: str, actor: User
) -> User:
    """An operator creates a support-institution account; its owner sets a password by e-mail."""
    if not actor.is_operator:
        raise AccountError(_("支援機関のアカウントを作成できるのは運営者だけです。"))
    return _create_invited_account(
        Role.INSTITUTION,
        email,
        organization=organization,
        display_name=display_name,
        actor=actor,
        event="accounts.institution_created",
        mail="institution_welcome",
    )


def create_analyst_account(
    email: str, *, organization: str, display_name: str, actor: User
) -> User:
    """An operator creates a read-only account for policy staff (METI, IPA): the
    aggregate pages only, never personal data."""
    if not actor.is_operator:
        raise AccountError(_("政策担当のアカウントを作成できるのは運営者だけです。"))
    return _create_invited_account(
        Role.ANALYST,
        email,
        organization=organization,
        display_name=display_name,
        actor=actor,
        event="accounts.analyst_created",
        mail="analyst_welcome",
    )


def _create_invited_account(
    role: str,
    email: str,
    *,
    organization: str,
    display_name: str,
    actor: User,
    event: str,
    mail: str,
) -> User:
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise AccountError(_("このメールアドレスはすでに登録されています。"), field="email")
    with transaction.atomic():
        user = User.objects.create_user(
            email,
            None,
            role=role,
            organization=organization.strip(),
            display_name=display_name.strip(),
            email_verified_at=None,
        )
        record_event(
            event,
            actor=actor,
            target_type="user",
            target_id=user.pk,
            data={"email": email, "organization": user.organization},
        )
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        # Django's reset tokens accept an unusable password, so the same
        # reviewed flow sets the first password.
        token = default_token_generator.make_token(user)
        queue_templated(
            mail,
            email,
            {
                "user": user,
                "url": site_url(f"/accounts/reset/{uid}/{token}/"),
            },
        )
    return user


# --------------------------------------------------------------- sign-in


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    retry_after_minutes: int = 0


class LoginThrottled(PermissionDenied):
    """A password check refused because a budget is spent.

    A PermissionDenied, so raised from the authentication backend it makes
    Django stop trying backends and `authenticate` return None.
    """

    def __init__(self, throttle: Throttle) -> None:
        super().__init__("sign-in attempts throttled")
        self.throttle = throttle


T = TypeVar("T")

# Where the backend leaves the refusal for the page that called `authenticate`
# (which only ever sees None), so the app login page can answer 429.
_REFUSAL_ATTRIBUTE = "sekispe_login_throttle"


def _login_rules() -> tuple[ratelimit.Limit, ratelimit.Limit]:
    return (
        ratelimit.rule("LOGIN_FAILURES_PER_ACCOUNT"),
        ratelimit.rule("LOGIN_FAILURES_PER_IP"),
    )


def _account_key(email: str) -> str:
    return f"login:account:{normalize_email(email)}"


def _pair_key(request: HttpRequest, email: str) -> str:
    # Keyed hashes: the counter table holds neither the address nor the e-mail.
    account = hashlib.sha256(f"{settings.SECRET_KEY}:{normalize_email(email)}".encode())
    return f"login:pair:{ratelimit.hashed_client_ip(request)[:32]}:{account.hexdigest()[:32]}"


def _minutes(wait: dt.timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds() / 60))


def checked_password(request: HttpRequest | None, email: str, check: Callable[[], T]) -> T:
    """Run the password check `check` (truthy on success) within the sign-in budgets.

    Every path that checks a password comes here (the authentication backend,
    so the app and admin logins, and the password change form), so they share
    one budget. Policy (docs/deployment.md, "Proxies and rate limits"):

    - per account, from all addresses together: LOGIN_FAILURES_PER_ACCOUNT
      checks a window; when spent the account is under attack and even the
      right password waits for the window to end;
    - per address: LOGIN_FAILURES_PER_IP checks a window for any accounts;
      past it the address may still try each account once a window, so a
      busy or shared address (an office, a misconfigured proxy) slows
      guessing but never locks out a correct password for another account.

    The budget is taken before the check, atomically, so concurrent attempts
    cannot run more checks than the limit; a success gives it back. Raises
    LoginThrottled, without running `check`, when a budget is spent.
    """
    account_rule, ip_rule = _login_rules()
    taken: list[str] = []

    def refuse(wait: dt.timedelta) -> NoReturn:
        for key in taken:
            ratelimit.refund(key)
        throttle = Throttle(False, _minutes(wait))
        if request is not None:
            setattr(request, _REFUSAL_ATTRIBUTE, throttle)
        raise LoginThrottled(throttle)

    account_key = _account_key(email)
    decision = ratelimit.consume(account_key, account_rule)
    if not decision.allowed:
        refuse(decision.retry_after)
    taken.append(account_key)
    pair_key = None
    if request is not None:
        ip_key = ratelimit.ip_key("login", request)
        decision = ratelimit.consume(ip_key, ip_rule)
        if decision.allowed:
            taken.append(ip_key)
        else:
            pair_key = _pair_key(request, email)
            pair = ratelimit.consume(pair_key, ratelimit.Limit(1, ip_rule.window))
            if not pair.allowed:
                # Either window ending lets the next try through.
                refuse(min(decision.retry_after, pair.retry_after))
    result = check()
    if result:
        # The account's budget refills; the address only gets back this one
        # attempt, so a valid account cannot reset guessing against others.
        ratelimit.reset(account_key)
        if len(taken) > 1:
            ratelimit.refund(taken[1])
        if pair_key is not None:
            ratelimit.reset(pair_key)
    return result


def login_refusal(request: HttpRequest) -> Throttle | None:
    """Why `authenticate` just returned None for `request`, if a budget was spent."""
    return getattr(request, _REFUSAL_ATTRIBUTE, None)


# ----------------------------------------------------------- password reset


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Whether a reset mail may be queued: per target address and per client address.

    The caller answers the same either way; a refusal counts nothing, so the
    owner gets a mail again as soon as the window ends.
    """
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{normalize_email(email)}".encode())
    email_key = f"reset:email:{digest.hexdigest()[:32]}"
    if not ratelimit.consume(email_key, ratelimit.rule("PASSWORD_RESETS_PER_EMAIL")).allowed:
        return False
    ip_rule = ratelimit.rule("PASSWORD_RESETS_PER_IP")
    if not ratelimit.consume(ratelimit.ip_key("reset", request), ip_rule).allowed:
        ratelimit.refund(email_key)
        return False
    return True


def sign_out_everywhere(user: User) -> None:
    """Invalidate every session of `user`: the session hash includes `session_token`."""
    user.session_token = secrets.token_hex(16)
    user.save(update_fields=["session_token"])
    record_event("accounts.sign_out_everywhere", actor=user, target_type="user", target_id=user.pk)
