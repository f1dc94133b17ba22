"""Inquiry pages under /inquiries/. Thin: parse, call `inquiries.services`, render.

Who may use them: SME and institution accounts send inquiries; SMEs,
institutions and specialists see their own dashboard and the inquiries they
are a party to. Operators do not use these pages (403): they follow inquiries
through the audit log, never through a party's page. Every inquiry is looked
up with `services.inquiry_for(user, pk)`, so anyone not a party gets a 404
for the page and for every action on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sekispe.accounts.models import Role
from sekispe.core.permissions import role_required
from sekispe.diagnosis import services as diagnosis_services
from sekispe.inquiries import forms, rules, services
from sekispe.inquiries.models import Inquiry, InquiryState
from sekispe.listings.models import Listing
from sekispe.reference import data
from sekispe.search.forms import row_context
from sekispe.search.services import SearchQuery, search

PARTIES = (Role.SME, Role.INSTITUTION, Role.SPECIALIST)
SIMILAR_COUNT = 5
# Which refusals of a send are a conflict with the specialist's state (409);
# a rate limit is 429; anything else is a bad request.
CONFLICT_CODES = frozenset({"duplicate", "full", "not_accepting", "not_listed"})
ACTIONS = tuple(name for name in rules.ACTIONS if name != "expire")

WAITING = frozenset({InquiryState.SENT})
IN_PROGRESS = frozenset(
    {
        InquiryState.ACCEPTED,
        InquiryState.CONSULTING,
        InquiryState.GUIDANCE_PLANNED,
        InquiryState.IN_GUIDANCE,
        InquiryState.COMPLETED,
    }
)


# ------------------------------------------------------------------ helpers


def _listing(registration_number: str) -> Listing:
    listing = (
        Listing.objects.select_related("record")
        .filter(record__registration_number=registration_number)
        .first()
    )
    if listing is None:
        raise Http404
    return listing


def _inquiry(request: HttpRequest, pk: int) -> Inquiry:
    try:
        return services.inquiry_for(request.user, pk)
    except LookupError:
        raise Http404 from None


def _similar(listing: Listing) -> dict[str, Any]:
    """Up to five accepting specialists with this one's themes and regions, and
    the Active List filtered the same way."""
    themes = tuple(sorted(listing.themes.values_list("pk", flat=True)))
    prefectures = tuple(sorted(listing.prefectures.values_list("pk", flat=True)))
    query = SearchQuery(themes=themes, prefectures=prefectures, page_size=SIMILAR_COUNT + 1)
    number = listing.record.registration_number
    rows = [r for r in search(query).results if r["registration_number"] != number]
    params = [("theme", str(t)) for t in themes] + [("prefecture", p) for p in prefectures]
    return {
        "similar": [row_context(r) for r in rows[:SIMILAR_COUNT]],
        "similar_url": reverse("search:index") + (f"?{urlencode(params)}" if params else ""),
    }


def _specialist_summary(listing: Listing) -> dict[str, Any]:
    number = listing.record.registration_number
    return {
        "name": listing.record.name,
        "registration_number": number,
        "detail_url": reverse("search:detail", args=[number]),
    }


@dataclass(frozen=True)
class ThemeSuggestion:
    """What the SME's latest self-diagnosis recommends, against what this
    specialist offers: `theme` is prefilled (the first recommended theme the
    specialist offers), or None with the recommended ones in `unmatched`."""

    theme: int | None = None
    unmatched: tuple[int, ...] = ()


def _initial_for(user: Any, offered: frozenset[int]) -> tuple[dict[str, Any], ThemeSuggestion]:
    """The SME's own details, and its latest self-diagnosis's profile and the
    first recommended theme this specialist offers (returned separately so the
    page can say where it came from, or that none of them is offered)."""
    if user.role != Role.SME:
        return {}, ThemeSuggestion()
    initial: dict[str, Any] = {
        "company_name": user.organization,
        "contact_name": user.display_name,
        "contact_email": user.email,
    }
    diagnosis = diagnosis_services.latest(user)
    if diagnosis is None:
        return initial, ThemeSuggestion()
    initial.update(diagnosis_services.clean_profile(diagnosis.profile))
    try:
        themes = diagnosis_services.evaluation_of(diagnosis).result.themes
    except ValueError:  # a result the current rules can no longer read
        return initial, ThemeSuggestion()
    theme = next((code for code in themes if code in offered), None)
    if theme is None:
        # Prefilling a theme the specialist has no record in would send them
        # a request they would likely decline.
        return initial, ThemeSuggestion(unmatched=tuple(themes))
    initial["theme"] = str(theme)
    return initial, ThemeSuggestion(theme=theme)


def _existing_context(user: Any, listing: Listing, company_name: str) -> dict[str, Any]:
    """The user's open inquiries to this specialist, and the one a send for
    `company_name` would duplicate (services.is_duplicate), if any."""
    existing = services.open_inquiries_to(user, listing)
    duplicate = next((i for i in existing if services.is_duplicate(i, user, company_name)), None)
    return {"existing": existing, "duplicate": duplicate}


def _render_new(
    request: HttpRequest,
    listing: Listing,
    form: forms.InquiryForm | None,
    *,
    status: int = 200,
    refusal: str = "",
    with_similar: bool = False,
    suggestion: ThemeSuggestion | None = None,
    company_name: str = "",
) -> HttpResponse:
    suggestion = suggestion or ThemeSuggestion()
    context: dict[str, Any] = {
        "form": form,
        "specialist": _specialist_summary(listing),
        "refusal": refusal,
        "for_institution": request.user.role == Role.INSTITUTION,
        "suggested_theme": forms.theme_label(suggestion.theme) if suggestion.theme else "",
        "unmatched_themes": [forms.theme_label(code) for code in suggestion.unmatched],
        "unmatched_url": reverse("search:index")
        + "?"
        + urlencode([("theme", str(code)) for code in suggestion.unmatched]),
        **_existing_context(request.user, listing, company_name),
    }
    if with_similar:
        context.update(_similar(listing))
    return render(request, "inquiries/new.html", context, status=status)


# -------------------------------------------------------------------- pages


@role_required(Role.SME, Role.INSTITUTION)
@require_http_methods(["GET", "POST"])
def new_inquiry(request: HttpRequest, registration_number: str) -> HttpResponse:
    """SME and institution accounts: ask a specialist for help. A specialist
    who is not accepting or full cannot be asked; the page says why and
    offers similar specialists instead."""
    listing = _listing(registration_number)
    availability = services.availability_of(listing)
    if availability.reason == "not_listed":
        raise Http404
    options = {
        "for_institution": request.user.role == Role.INSTITUTION,
        "specialist_themes": frozenset(listing.themes.values_list("pk", flat=True)),
    }
    if request.method == "POST":
        form = forms.InquiryForm(request.POST, **options)
        if not form.is_valid():
            return _render_new(
                request,
                listing,
                form,
                status=400,
                company_name=form.cleaned_data.get("company_name", ""),
            )
        try:
            inquiry = services.send_inquiry(request.user, listing, form.draft())
        except services.InquiryRefused as refused:
            if refused.code == "rate_limited":
                status = 429
            elif refused.code in CONFLICT_CODES:
                status = 409
            else:
                status = 400
            # The answers stay in the form: nothing typed is lost.
            return _render_new(
                request,
                listing,
                form,
                status=status,
                refusal=refused.message,
                with_similar=refused.code in ("full", "not_accepting"),
                company_name=form.cleaned_data["company_name"],
            )
        messages.success(
            request,
            _("%(name)sさんに相談の依頼を送りました。返答があるとメールでお知らせします。")
            % {"name": listing.record.name},
        )
        return redirect("inquiries:detail", pk=inquiry.pk)
    initial, suggestion = _initial_for(request.user, options["specialist_themes"])
    company_name = initial.get("company_name", "")
    if not availability.can_send:
        return _render_new(
            request,
            listing,
            None,
            refusal=services.REFUSAL_MESSAGES[availability.reason],
            with_similar=True,
            company_name=company_name,
        )
    form = forms.InquiryForm(initial=initial, **options)
    return _render_new(request, listing, form, suggestion=suggestion, company_name=company_name)


def _group(inquiry: Inquiry) -> str:
    if inquiry.state in WAITING:
        return "waiting"
    if inquiry.state in IN_PROGRESS:
        return "in_progress"
    return "finished"


@role_required(*PARTIES)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The user's inquiries, grouped by state; a specialist also sees their
    open engagements against the capacity they set."""
    user = request.user
    side = rules.SPECIALIST if user.role == Role.SPECIALIST else rules.CLIENT
    groups: dict[str, list[dict[str, Any]]] = {"waiting": [], "in_progress": [], "finished": []}
    for inquiry in services.inquiries_for(user):
        own_moves = [a for a in rules.actions_for(inquiry.state, side) if a != "close"]
        groups[_group(inquiry)].append(
            {
                "inquiry": inquiry,
                "theme": forms.theme_label(inquiry.theme) if inquiry.theme else "",
                "your_turn": bool(own_moves),
            }
        )
    context: dict[str, Any] = {
        "groups": [
            ("waiting", _("返答待ち"), groups["waiting"]),
            ("in_progress", _("対応中"), groups["in_progress"]),
            ("finished", _("終了したもの"), groups["finished"]),
        ],
        "is_specialist": side == rules.SPECIALIST,
    }
    if side == rules.SPECIALIST:
        listing = Listing.objects.filter(record_id=user.record_id).first()
        if listing is not None:
            context["capacity"] = {
                "open": services.open_engagements(listing.pk),
                "limit": listing.capacity,
                "availability": services.availability_of(listing),
            }
    return render(request, "inquiries/dashboard.html", context)


def _related(inquiry: Inquiry, name: str) -> Any:
    try:
        return getattr(inquiry, name)
    except ObjectDoesNotExist:
        return None


def _plan_theme(request: HttpRequest, inquiry: Inquiry) -> int:
    """The theme whose goals the plan form offers: ?theme= (the page's theme
    switcher), else the inquiry's theme, else the first."""
    codes = {t.code for t in data.GUIDANCE_THEMES}
    asked = request.GET.get("theme", "")
    if asked.isdecimal() and int(asked) in codes:
        return int(asked)
    return inquiry.theme if inquiry.theme in codes else 1


def _action_form(
    action: str,
    *,
    data_: Any = None,
    theme: int,
    open_visits: list[Any],
) -> django_forms.Form:
    form_class = forms.ACTION_FORMS[action]
    kwargs: dict[str, Any] = {"prefix": action}
    if action == "plan_guidance":
        kwargs["theme"] = theme
    if action == "record_visit":
        kwargs["open_visits"] = open_visits
    return form_class(data_, **kwargs) if data_ is not None else form_class(**kwargs)


def _actor_label(transition: Any) -> str:
    actor = transition.actor
    if actor is None:
        return _("自動処理")
    if actor.role == Role.SPECIALIST:
        return _("専門家")
    if actor.role == Role.INSTITUTION and actor.organization:
        return _("支援機関（%(name)s）") % {"name": actor.organization}
    if actor.role == Role.INSTITUTION:
        return _("支援機関")
    return _("会社")


def _profile_rows(profile: dict[str, str]) -> list[tuple[str, str]]:
    d = diagnosis_services
    english = forms.english()
    names = {
        "prefecture": (
            _("所在地"),
            {p.code: p.name_en if english else p.name for p in data.PREFECTURES},
        ),
        "industry": (_("業種"), {c: en if english else n for c, n, en in data.INDUSTRIES}),
        "employees": (_("従業員数"), {c: str(n) for c, n in d.EMPLOYEE_BANDS}),
        "it_dependence": (_("仕事でのITの使い方"), {c: str(n) for c, n in d.IT_DEPENDENCE}),
        "customer_demand": (
            _("取引先からの対策の要請"),
            {c: str(n) for c, n in d.CUSTOMER_DEMAND},
        ),
    }
    return [
        (label, choices.get(profile[key], profile[key]))
        for key, (label, choices) in names.items()
        if profile.get(key)
    ]


STEP_NAMES = (
    gettext_lazy("依頼"),
    gettext_lazy("受諾"),
    gettext_lazy("相談"),
    gettext_lazy("計画"),
    gettext_lazy("訪問1回目"),
    gettext_lazy("訪問2回目"),
    gettext_lazy("訪問3回目"),
    gettext_lazy("完了"),
    gettext_lazy("確認"),
)
TERMINAL = (InquiryState.DECLINED, InquiryState.EXPIRED, InquiryState.CLOSED)


def _history(inquiry: Inquiry) -> tuple[list[dict[str, Any]], int]:
    """The transitions as the page shows them, each visit named, and how many
    steps of the stepper were reached (a closed inquiry keeps where it got to)."""
    rows, visits, reached = [], 0, 0
    for t in inquiry.transitions.select_related("actor"):
        label = InquiryState(t.to_state).label
        if t.to_state == InquiryState.IN_GUIDANCE:
            visits += 1
            label = _("訪問指導（%(n)d回目を記録）") % {"n": visits}
        reached = max(reached, rules.steps_reached(t.to_state, visits))
        rows.append({"t": t, "actor": _actor_label(t), "state": label})
    return rows, reached


def _stepper(inquiry: Inquiry, reached: int) -> list[dict[str, Any]]:
    current = None if inquiry.state in TERMINAL or reached >= rules.STEPS else reached
    return [
        {"name": name, "done": n < reached, "current": n == current}
        for n, name in enumerate(STEP_NAMES)
    ]


def _detail_response(
    request: HttpRequest,
    inquiry: Inquiry,
    *,
    bound: tuple[str, Any] | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    party = services.party_of(request.user, inquiry)
    plan = _related(inquiry, "plan")
    visits = list(plan.visits.all()) if plan is not None else []
    open_visits = [v for v in visits if v.recorded_at is None]
    theme = _plan_theme(request, inquiry)
    if bound is not None and bound[0] == "plan_guidance":
        theme = bound[1].theme
    # An action that cannot succeed yet gets a sentence instead of a form.
    ready = {
        "record_visit": bool(open_visits),
        "complete": bool(visits) and not open_visits,
    }
    allowed = rules.actions_for(inquiry.state, party) if party else []
    action_forms: dict[str, django_forms.Form] = {}
    for action in allowed:
        if not ready.get(action, True):
            continue
        if bound is not None and bound[0] == action:
            action_forms[action] = bound[1]
        else:
            action_forms[action] = _action_form(action, theme=theme, open_visits=open_visits)
    transitions, reached = _history(inquiry)
    context = {
        "inquiry": inquiry,
        "party": party,
        "is_specialist": party == rules.SPECIALIST,
        "specialist": _specialist_summary(inquiry.listing),
        "theme": forms.theme_label(inquiry.theme) if inquiry.theme else "",
        "profile_rows": _profile_rows(inquiry.company_profile),
        "transitions": transitions,
        "stepper": _stepper(inquiry, reached),
        "consultation": _related(inquiry, "consultation"),
        "plan": plan,
        "plan_theme": forms.theme_label(plan.theme) if plan else "",
        "visits": visits,
        "confirmation": _related(inquiry, "confirmation"),
        "forms": action_forms,
        "allowed": allowed,
        "waiting_visits": "record_visit" in allowed and not open_visits,
        "waiting_complete": "complete" in allowed and "complete" not in action_forms,
        "plan_theme_choice": theme,
        "theme_choices": forms.theme_choices(),
        "refusal": refusal,
        "bound_action": bound[0] if bound else "",
        "alternatives_url": services.alternatives_url(inquiry),
        "show_alternatives": inquiry.state in (InquiryState.DECLINED, InquiryState.EXPIRED)
        and party == rules.CLIENT,
    }
    return render(request, "inquiries/detail.html", context, status=status)


@role_required(*PARTIES)
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The parties only: the inquiry, its history and records, and the forms
    for what this party may do now."""
    return _detail_response(request, _inquiry(request, pk))


def _refused_now(inquiry: Inquiry, action: str, party: str | None) -> str:
    """The message when the table does not allow this action now, or ""."""
    rule = rules.ACTIONS[action]
    if party not in rule.actors:
        return str(services.NOT_ALLOWED)
    if inquiry.state not in rule.sources:
        return str(services.STALE)
    return ""


SUCCESS_MESSAGES = {
    "accept": gettext_lazy("依頼を受けました。個別相談の日程を会社と調整してください。"),
    "decline": gettext_lazy("依頼を辞退しました。会社にお知らせしました。"),
    "record_consultation": gettext_lazy("個別相談の記録を登録しました。"),
    "plan_guidance": gettext_lazy("訪問指導の計画を登録しました。"),
    "record_visit": gettext_lazy("訪問指導の記録を登録しました。"),
    "complete": gettext_lazy("完了を報告しました。会社の確認をお待ちください。"),
    "confirm": gettext_lazy(
        "訪問指導の完了を確認しました。この確認は実務の記録として保存されました。"
    ),
    "close": gettext_lazy("この依頼を終了しました。"),
}


def _perform(action: str, inquiry: Inquiry, user: Any, d: dict[str, Any], form: Any) -> None:
    if action == "accept":
        services.accept(inquiry, user)
    elif action == "decline":
        services.decline(inquiry, user, d["reason"], d["note"])
    elif action == "record_consultation":
        services.record_consultation(
            inquiry,
            user,
            held_on=d["held_on"],
            form=d["form"],
            issues=d["issues"],
            priorities=d["priorities"],
        )
    elif action == "plan_guidance":
        services.plan_guidance(inquiry, user, theme=d["theme"], visits=form.visits())
    elif action == "record_visit":
        services.record_visit(
            inquiry,
            user,
            number=d["number"],
            held_on=d["held_on"],
            notes=d["notes"],
            goal_achieved=d["goal_achieved"],
        )
    elif action == "complete":
        services.complete(inquiry, user, d["report"])
    elif action == "confirm":
        services.confirm(inquiry, user)
    elif action == "close":
        services.close(inquiry, user, d["reason"], d["note"])


@role_required(*PARTIES)
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The parties only: take one action. Refused (the state moved on, or the
    other party's action) → the page again with the reason, 409; refused for
    one input (a date that cannot be true) → the form again with the message
    on that field, 400."""
    if action not in ACTIONS:
        raise Http404
    inquiry = _inquiry(request, pk)
    party = services.party_of(request.user, inquiry)
    refusal = _refused_now(inquiry, action, party)
    if refusal:
        return _detail_response(request, inquiry, refusal=refusal, status=409)
    plan = _related(inquiry, "plan")
    open_visits = (
        [v for v in plan.visits.all() if v.recorded_at is None] if plan is not None else []
    )
    form = _action_form(
        action,
        data_=request.POST,
        theme=_plan_theme(request, inquiry),
        open_visits=open_visits,
    )
    if not form.is_valid():
        return _detail_response(request, inquiry, bound=(action, form), status=400)
    try:
        _perform(action, inquiry, request.user, form.cleaned_data, form)
    except services.InquiryRefused as refused:
        inquiry.refresh_from_db()
        if refused.field and refused.field in form.fields:
            # An input to correct (an impossible date, a visit out of turn):
            # the message goes next to its field, like the form's own errors.
            form.add_error(refused.field, refused.message)
            return _detail_response(request, inquiry, bound=(action, form), status=400)
        return _detail_response(
            request, inquiry, bound=(action, form), refusal=refused.message, status=409
        )
    messages.success(request, SUCCESS_MESSAGES[action])
    return redirect("inquiries:detail", pk=inquiry.pk)
