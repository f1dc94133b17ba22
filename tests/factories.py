"""Build specialists for tests through the real write path."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import replace
from typing import Any

from sekispe.listings.services import CourseInput, ListingInput, write_listings
from sekispe.reference import services as ref

TODAY = dt.date(2026, 11, 22)

_counter = iter(range(100000, 999999))


def make_input(**overrides: Any) -> ListingInput:
    number = overrides.pop("registration_number", f"{next(_counter):06d}")
    base = ListingInput(
        registration_number=number,
        name="佐藤 健太",
        name_kana="サトウ ケンタ",
        registered_on=dt.date(2024, 4, 1),
        expires_on=dt.date(2027, 3, 31),
        home_prefecture="13",
        prefectures=("13",),
        themes=(1,),
        fees={"online": 10000},
        profile="中小企業の情報セキュリティ規程の整備を支援しています。",
        email="sato@example.jp",
        courses=(
            CourseInput("common", dt.date(2024, 6, 1), "IPA"),
            CourseInput("common", dt.date(2025, 6, 1), "IPA"),
        ),
    )
    return replace(base, **overrides)


def create_specialists(*items: ListingInput) -> None:
    write_listings(list(items), actor_label="tests")


def random_inputs(rng: random.Random, n: int) -> list[ListingInput]:
    """Varied specialists covering every facet, status and availability case."""
    items = []
    for i in range(n):
        forms = rng.sample(ref.FORM_CODES, rng.randint(0, 4))
        status = rng.choices(["active", "expired", "deregistered"], [8, 1, 1])[0]
        expires = rng.choice([dt.date(2027, 3, 31), dt.date(2026, 9, 30), dt.date(2028, 9, 30)])
        availability = rng.choice(["accepting", "accepting", "not_accepting"])
        until = rng.choice(
            [None, None, TODAY - dt.timedelta(days=3), TODAY + dt.timedelta(days=10)]
        )
        items.append(
            make_input(
                registration_number=f"{200000 + i:06d}",
                name=rng.choice(["佐藤 健太", "鈴木 花子", "高橋 誠", "田中 美咲", "渡辺 翔"]),
                name_kana=rng.choice(["サトウ ケンタ", "スズキ ハナコ", "タカハシ マコト"]),
                status=status,
                expires_on=expires,
                registered_on=dt.date(expires.year - 3, expires.month % 12 + 1, 1),
                prefectures=tuple(rng.sample(ref.PREFECTURE_CODES, rng.randint(1, 5))),
                themes=tuple(rng.sample(ref.THEME_CODES, rng.randint(1, 3))),
                syllabus_items=tuple(rng.sample(ref.SYLLABUS_CODES, rng.randint(0, 4))),
                industries=tuple(rng.sample(ref.INDUSTRY_CODES, rng.randint(0, 4))),
                periods=tuple(rng.sample(ref.PERIOD_CODES, rng.randint(0, 3))),
                qualifications=tuple(rng.sample(ref.QUALIFICATION_CODES, rng.randint(0, 2))),
                first_free=rng.random() < 0.4,
                fees={f: rng.randrange(0, 100001, 5000) for f in forms},
                affiliation=rng.choice(ref.AFFILIATION_CODES),
                company_name=rng.choice(["", "サンプル情報システム株式会社"]),
                availability=availability,
                availability_until=until,
                profile=rng.choice(
                    [
                        "ランサムウェア対策と従業員教育が専門です。",
                        "クラウドサービスの安全な利用を支援します。",
                        "情報セキュリティ規程の整備と ISMS 認証の取得支援。",
                        "インシデント対応手順書の作成と机上演習。",
                        "製造業の情報資産の洗い出しとリスク分析。",
                    ]
                ),
                track_record=rng.choice(
                    ["", "ＳＥＣＵＲＩＴＹ ＡＣＴＩＯＮ 二つ星の宣言を支援", "標的型攻撃メール訓練"]
                ),
            )
        )
    return items


def text(response: Any) -> str:
    """A response's HTML with whitespace runs folded, for substring assertions."""
    return re.sub(r"\s+", " ", response.content.decode())


PASSWORD = "correct-horse-battery-42"


def make_user(role: str, email: str | None = None, **extra: Any) -> Any:
    """A user of `role`; a specialist needs `record=`."""
    from sekispe.accounts.models import User

    email = email or f"{role}-{next(_counter)}@example.jp"
    extra.setdefault("email_verified_at", dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    if role == "operator":
        extra.setdefault("is_staff", True)
    return User.objects.create_user(email, PASSWORD, role=role, **extra)


def make_specialist_user(number: str | None = None, **listing: Any) -> Any:
    """A specialist with a registry record, a published listing and an account."""
    from sekispe.registry.models import RegistryRecord

    item = make_input(**({"registration_number": number} if number else {}), **listing)
    create_specialists(item)
    record = RegistryRecord.objects.get(registration_number=item.registration_number)
    return make_user("specialist", record=record)
