"""The deemed-attendance sample audit: the reproducible draw (properties of the
pure functions, then the recorded draws in the database) and the
`sekispe deemed-audit` command."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from sekispe.audit.models import AuditEvent
from sekispe.deemed import services
from sekispe.deemed.models import AuditDraw, AuditState, DeemedApplication, DeemedStatus
from sekispe.outbox.models import OutgoingMail
from tests.concurrency_support import race
from tests.deemed_support import make_application, make_registrant

rates = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1"), places=3)
populations = st.lists(st.integers(min_value=1, max_value=10**6), unique=True, max_size=3000)


# ------------------------------------------------------------------ the pure draw


@given(rate=rates, n=st.integers(min_value=0, max_value=100_000))
def test_sample_size_is_within_one_of_rate_times_n(rate, n):
    size = services.sample_size(rate, n)
    assert 0 <= size <= n
    assert abs(size - rate * n) <= 1
    # round half up: never more than half an application away
    assert abs(size - rate * n) <= Decimal("0.5")


@given(rate=rates, population=populations, seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_the_same_seed_and_population_give_the_same_sample(rate, population, seed):
    size = services.sample_size(rate, len(population))
    drawn = services.draw_sample(seed, population, size)
    assert len(drawn) == size
    assert len(set(drawn)) == size
    assert set(drawn) <= set(population)
    assert drawn == sorted(drawn)
    # Order of the population as given does not matter; the seed does the choosing.
    assert services.draw_sample(seed, list(reversed(population)), size) == drawn


def test_different_seeds_usually_draw_differently():
    population = list(range(1, 1001))
    samples = {tuple(services.draw_sample(seed, population, 100)) for seed in range(20)}
    assert len(samples) == 20


# ------------------------------------------------------------------ recorded draws


def approved(n: int) -> list[DeemedApplication]:
    return [make_application(make_registrant(), status=DeemedStatus.APPROVED) for _ in range(n)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("n", "rate", "expected"),
    [(7, "0.10", 1), (7, "0.5", 4), (10, "0.25", 3), (3, "0.1", 0), (4, "1", 4)],
)
def test_a_recorded_draw_takes_round_rate_times_n(n, rate, expected):
    apps = approved(n)
    draw = services.draw_audit(rate, seed=99, actor_label="test")
    assert draw.population == sorted(a.pk for a in apps)
    assert len(draw.drawn) == expected
    assert abs(len(draw.drawn) - Decimal(rate) * n) <= 1
    assert services.verify_draw(draw)


@pytest.mark.django_db
def test_a_draw_marks_notifies_and_is_audited():
    apps = approved(5)
    pending = make_application(make_registrant())
    awaiting = make_application(make_registrant(), status=DeemedStatus.AWAITING_CERTIFICATION)
    mails_before = OutgoingMail.objects.filter(template="deemed_update").count()
    population, expected = services.preview_draw("0.5", 1234)
    # Approved or pending; an application still awaiting its certifier is not auditable.
    assert population == sorted([*(a.pk for a in apps), pending.pk])
    assert awaiting.pk not in population
    assert not AuditDraw.objects.exists()

    draw = services.draw_audit("0.5", 1234, actor_label="test")
    assert draw.drawn == expected  # the dry run and the draw use the same rng
    assert len(draw.drawn) == 3
    marked = DeemedApplication.objects.filter(audit_state=AuditState.UNDER_AUDIT)
    assert sorted(marked.values_list("pk", flat=True)) == draw.drawn
    assert set(marked.values_list("audit_draw", flat=True)) == {draw.pk}
    assert OutgoingMail.objects.filter(template="deemed_update").count() == mails_before + 3
    event = AuditEvent.objects.get(action="deemed.audit_draw", target_id=str(draw.pk))
    assert event.data == {"seed": 1234, "rate": "0.5", "population": 6, "drawn": draw.drawn}


@pytest.mark.django_db
def test_a_second_draw_never_repeats_an_application():
    apps = approved(9)
    first = services.draw_audit("0.34", seed=1, actor_label="test")
    second = services.draw_audit("0.5", seed=1, actor_label="test")
    assert set(first.drawn).isdisjoint(second.population)
    assert set(first.drawn).isdisjoint(second.drawn)
    rest = services.draw_audit("1", seed=1, actor_label="test")
    drawn = [*first.drawn, *second.drawn, *rest.drawn]
    assert sorted(drawn) == sorted(a.pk for a in apps)
    assert len(drawn) == len(set(drawn))
    empty = services.draw_audit("1", seed=1, actor_label="test")
    assert (empty.population, empty.drawn) == ([], [])


@pytest.mark.django_db
def test_verify_draw_detects_a_tampered_record():
    approved(6)
    draw = services.draw_audit("0.5", seed=77, actor_label="test")
    assert services.verify_draw(draw)
    not_drawn = next(pk for pk in draw.population if pk not in draw.drawn)
    tampered = sorted([not_drawn, *draw.drawn[1:]])
    AuditDraw.objects.filter(pk=draw.pk).update(drawn=tampered)
    draw.refresh_from_db()
    assert not services.verify_draw(draw)
    # A population quietly shrunk to the drawn ones does not verify either.
    AuditDraw.objects.filter(pk=draw.pk).update(
        drawn=sorted(draw.drawn), population=[*draw.population[:3]]
    )
    draw.refresh_from_db()
    assert not services.verify_draw(draw)


@pytest.mark.django_db
def test_a_rate_outside_zero_to_one_is_refused():
    for rate in ("0", "-0.1", "1.01"):
        with pytest.raises(services.DeemedRefused) as refusal:
            services.draw_audit(rate, seed=1)
        assert refusal.value.field == "rate"
    assert not AuditDraw.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_draws_at_once_never_take_the_same_application():
    approved(8)
    results = race(
        [lambda s=s: services.draw_audit("0.5", seed=s, actor_label="race") for s in (1, 2)]
    )
    draws = [r for r in results if isinstance(r, AuditDraw)]
    assert len(draws) == 2, results
    a, b = draws
    assert set(a.drawn).isdisjoint(b.drawn)
    assert all(services.verify_draw(d) for d in draws)
    marked = DeemedApplication.objects.filter(audit_state=AuditState.UNDER_AUDIT).count()
    assert marked == len(a.drawn) + len(b.drawn)


# ------------------------------------------------------------------ the command


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("deemed_audit", *args, "--no-progress", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_draws_and_prints_seed_population_and_references():
    apps = approved(10)
    output = run("--rate", "0.10", "--seed", "4242")
    draw = AuditDraw.objects.get()
    assert draw.seed == 4242
    assert draw.drawn_by == "sekispe deemed-audit"
    assert "乱数の種: 4242" in output
    assert "母集団: 10 件" in output
    assert "抽出: 1 件" in output
    [pk] = draw.drawn
    drawn = next(a for a in apps if a.pk == pk)
    assert f"  {drawn.reference}  登録番号 {drawn.record.registration_number}" in output
    assert f"検証: sekispe deemed-audit --verify {draw.pk}" in output


@pytest.mark.django_db
def test_the_command_makes_a_seed_when_none_is_given():
    approved(3)
    output = run("--rate", "0.5")
    draw = AuditDraw.objects.get()
    assert f"乱数の種: {draw.seed}" in output
    assert 0 <= draw.seed < 2**32


@pytest.mark.django_db
def test_the_dry_run_records_nothing_and_shows_what_the_draw_will_take():
    approved(12)
    dry = run("--rate", "0.25", "--seed", "9", "--dry-run")
    assert "[確認のみ]" in dry
    assert not AuditDraw.objects.exists()
    assert not DeemedApplication.objects.exclude(audit_state="").exists()
    real = run("--rate", "0.25", "--seed", "9")
    draw = AuditDraw.objects.get()
    assert len(draw.drawn) == 3
    for pk in draw.drawn:
        reference = DeemedApplication(pk=pk).reference
        assert reference in dry and reference in real


@pytest.mark.django_db
def test_the_command_verifies_a_recorded_draw():
    approved(5)
    draw = services.draw_audit("0.4", seed=31, actor_label="test")
    assert "一致: " in run("--verify", str(draw.pk))
    AuditDraw.objects.filter(pk=draw.pk).update(
        drawn=[pk for pk in draw.population if pk not in draw.drawn][:2]
    )
    with pytest.raises(CommandError, match="不一致"):
        run("--verify", str(draw.pk))
    with pytest.raises(CommandError, match="記録されていません"):
        run("--verify", "999999")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--rate を指定してください"),
        (("--rate", "abc"), "--rate"),
        (("--rate", "1.5"), "--rate"),
        (("--rate", "0.1", "--seed", "-1"), "--seed"),
        (("--verify", "1", "--rate", "0.1"), "--verify"),
    ],
)
def test_the_command_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not AuditDraw.objects.exists()
