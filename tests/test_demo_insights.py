"""seed-demo's history for the policy pages (devtools/demo/insights.py)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Min, Sum
from django.utils import timezone

from sekispe.accounts.models import User
from sekispe.devtools.demo import insights
from sekispe.diagnosis.models import Diagnosis, SecurityActionDeclaration
from sekispe.inquiries.models import Inquiry, InquiryTransition
from sekispe.search.models import SearchDemand

pytestmark = pytest.mark.django_db


def _seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", specialists=40, seed=3, no_progress=True, stdout=out, **options)
    return out.getvalue()


def _snapshot() -> tuple:
    return (
        list(Inquiry.objects.filter(sender__email__startswith="company-").order_by("sender__email")
             .values_list("sender__email", "listing_id", "state", "theme", "decline_reason", "close_reason")),
        list(SearchDemand.objects.order_by("day", "prefecture", "theme", "form", "results")
             .values_list("day", "prefecture", "theme", "form", "results", "searches")),
        list(Diagnosis.objects.order_by("created_at", "share_token")
             .values_list("step", "total_score", "profile", "created_at")),
        list(SecurityActionDeclaration.objects.order_by("user__email", "declared_on", "id")
             .values_list("user__email", "level", "declared_on", "prefecture_id")),
    )  # fmt: skip


def test_seed_demo_writes_a_year_of_demand_diagnoses_and_declarations():
    out = _seed(accounts=True)
    assert "政策ページ用の履歴" in out
    today = timezone.localdate()
    days = SearchDemand.objects.aggregate(first=Min("day"), n=Count("day", distinct=True))
    assert days["first"] == today - dt.timedelta(days=insights.DEMAND_DAYS - 1)
    assert days["n"] == insights.DEMAND_DAYS  # every day has searches
    by_results = dict(
        SearchDemand.objects.values_list("results").annotate(n=Sum("searches")).order_by()
    )
    assert set(by_results) <= {0, 1, 2, 3} and by_results.get(0, 0) > 0
    assert SearchDemand.objects.filter(prefecture="").exists()
    assert SearchDemand.objects.values("prefecture").distinct().count() > 40

    months = {d.strftime("%Y-%m") for d in Diagnosis.objects.values_list("created_at", flat=True)}
    assert len(months) >= 12
    assert not Diagnosis.objects.filter(created_at__gt=timezone.now()).exists()
    assert Diagnosis.objects.filter(user__isnull=True).count() >= 60
    steps = set(Diagnosis.objects.values_list("step", flat=True))
    assert steps == {1, 2, 3, 4}

    declarations = SecurityActionDeclaration.objects.all()
    assert set(declarations.values_list("level", flat=True)) == {1, 2}
    assert not declarations.filter(declared_on__gt=today).exists()
    stepped = [
        email
        for email in declarations.values_list("user__email", flat=True).distinct()
        if list(
            declarations.filter(user__email=email)
            .order_by("declared_on", "id")
            .values_list("level", flat=True)
        )[:2]
        == [1, 2]
    ]
    assert stepped, "some companies step up from ★ to ★★"
    # Every declaring company's account is a demo one, and it cannot sign in.
    for user in User.objects.filter(email__startswith="company-"):
        assert user.email.endswith("@demo.sekispe.example") and not user.has_usable_password()
    # Past inquiries are all over (nothing holds a specialist's capacity), dated
    # over the months, each transition no later than now.
    past = Inquiry.objects.filter(sender__email__startswith="company-")
    assert past.count() >= 10
    assert set(past.values_list("state", flat=True)) <= {"declined", "expired", "closed"}
    assert len({d.strftime("%Y-%m") for d in past.values_list("created_at", flat=True)}) >= 6
    moves = InquiryTransition.objects.filter(inquiry__in=past)
    assert not moves.filter(at__gt=timezone.now()).exists()
    assert moves.filter(to_state="accepted").count() == past.filter(state="closed").count()
    for inquiry in past.filter(state="closed")[:20]:
        sent, accepted = (
            inquiry.transitions.get(to_state=state).at for state in ("sent", "accepted")
        )
        assert inquiry.created_at == sent < accepted
    # The demo SME declared ★, so its Step 3 result suggests ★★.
    sme = User.objects.get(email="sme@demo.sekispe.example")
    assert list(declarations.filter(user=sme).values_list("level", flat=True)) == [1]


def test_seeding_again_adds_nothing_and_the_history_is_deterministic():
    _seed(accounts=True)
    first = _snapshot()
    _seed(accounts=True)
    assert _snapshot() == first
    SearchDemand.objects.all().delete()
    SecurityActionDeclaration.objects.all().delete()
    Diagnosis.objects.exclude(user__email="sme@demo.sekispe.example").delete()
    Inquiry.objects.filter(sender__email__startswith="company-").delete()
    User.objects.filter(email__startswith="company-").delete()
    _seed(accounts=True)
    again = _snapshot()
    assert again[:2] == first[:2] and again[3] == first[3]
    assert [row[:3] for row in again[2]] == [row[:3] for row in first[2]]


def test_without_accounts_there_are_searches_and_anonymous_diagnoses_only():
    from sekispe.devtools.management.commands.seed_demo import real_data_reason

    _seed()
    assert SearchDemand.objects.exists()
    assert Diagnosis.objects.filter(user__isnull=True).count() >= 60
    assert not Diagnosis.objects.filter(user__isnull=False).exists()
    assert not User.objects.exists() and not SecurityActionDeclaration.objects.exists()
    assert real_data_reason() is None
