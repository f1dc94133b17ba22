# Random choices here only vary the traffic; nothing is secret.
# ruff: noqa: S311
"""The `make load` scenario (scripts/load starts the server and runs this).

Visitors search (web page and API, varied filters), open detail pages and post
self-diagnoses to the API; signed-in SMEs (the demo account) also send
inquiries through the real form, CSRF included. Every response must be the
expected one: any other status, a 5xx above all, is a failure and fails the run.
"""

from __future__ import annotations

import http.cookiejar
import random
import re
import threading
import uuid

from locust import HttpUser, between, task

SME_EMAIL = "sme@demo.sekispe.example"
SME_PASSWORD = "demo-pass-2026"  # noqa: S105 (seed-demo's published demo password)
# Not a bot User-Agent (sekispe/search/bots.py): the run should pay for the
# exposure ledger as real visitors' searches do.
HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) sekispe-load/1"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

PREFECTURES = ["13", "27", "14", "23", "01", "40", "26", "34", "04", "47"]
REGIONS = ["kanto", "kinki", "chubu", "kyushu", "tohoku"]
WORDS = ["ランサム", "クラウド", "規程", "製造業", "テレワーク", "ISMS"]


def random_filters() -> dict[str, object]:
    """A mix like real use: mostly a place and a theme, sometimes more."""
    params: dict[str, object] = {}
    roll = random.random()
    if roll < 0.6:
        params["prefecture"] = random.sample(PREFECTURES, random.choice([1, 1, 2]))
    elif roll < 0.8:
        params["region"] = random.choice(REGIONS)
    if random.random() < 0.6:
        params["theme"] = random.sample(["1", "2", "3", "4", "5"], random.choice([1, 1, 2]))
    if random.random() < 0.2:
        params["form"] = random.choice(["visit", "online"])
    if random.random() < 0.15:
        params["max_fee"] = random.choice([10000, 30000, 50000])
    if random.random() < 0.1:
        params["q"] = random.choice(WORDS)
    if random.random() < 0.15:
        params["page"] = 2
    return params


class _Numbers:
    """Registration numbers seen in API results, shared by every user."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def add(self, numbers: list[str]) -> None:
        with self.lock:
            if len(self.seen) < 5000:
                self.seen.extend(numbers)

    def pick(self) -> str | None:
        with self.lock:
            return random.choice(self.seen) if self.seen else None


NUMBERS = _Numbers()
QUESTION_IDS: list[str] = []


# Production marks cookies Secure; this run speaks plain http on loopback, as
# the TLS-terminating proxy does to the app, so they must be sent back anyway.
# Patched on the class: requests copies every session's jar into a new one with
# the default policy per request. Only this load process is affected.
http.cookiejar.DefaultCookiePolicy.return_ok_secure = lambda self, cookie, request: True


class Visitor(HttpUser):
    weight = 4
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.client.headers.update(HEADERS)
        if not QUESTION_IDS:
            body = self.client.get("/api/v1/diagnoses/questions", name="diagnosis questions")
            QUESTION_IDS[:] = [q["id"] for q in body.json()["questions"]]
        if not NUMBERS.seen:
            self.api_search({"page_size": 100})

    def api_search(self, params: dict[str, object]) -> None:
        response = self.client.get(
            "/api/v1/specialists", params=params, name="/api/v1/specialists?…"
        )
        if response.ok:
            NUMBERS.add([r["registration_number"] for r in response.json()["results"]])

    @task(4)
    def search_page(self) -> None:
        self.client.get("/specialists/", params=random_filters(), name="/specialists/?…")

    @task(3)
    def search_api(self) -> None:
        self.api_search(random_filters())

    @task(3)
    def detail_page(self) -> None:
        number = NUMBERS.pick()
        if number:
            self.client.get(f"/specialists/{number}/", name="/specialists/<number>/")

    @task(1)
    def diagnosis(self) -> None:
        answers = {
            q: random.choice(["done", "partly", "not_done", "unknown"]) for q in QUESTION_IDS
        }
        profile = {"prefecture": random.choice(PREFECTURES)}
        self.client.post(
            "/api/v1/diagnoses", json={"answers": answers, "profile": profile}, name="diagnosis"
        )


class SignedInSme(Visitor):
    """The demo SME: searches like anyone, and sends inquiries."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        page = self.client.get("/accounts/login/", name="login form")
        token = CSRF_INPUT.search(page.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={"email": SME_EMAIL, "password": SME_PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Origin": self.host},
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login: {response.status_code}")

    @task(2)
    def inquiry(self) -> None:
        number = NUMBERS.pick()
        if not number:
            return
        url = f"/inquiries/new/{number}/"
        form = self.client.get(url, name="/inquiries/new/<number>/ (form)")
        match = CSRF_INPUT.search(form.text)
        if not match:
            return  # not accepting: the page offers others, there is no form to send
        data = {
            "csrfmiddlewaretoken": match.group(1),
            # One company name per send: a second send to the same specialist
            # while the first waits would be refused as a duplicate.
            "company_name": f"負荷試験 {uuid.uuid4().hex[:8]}",
            "contact_name": "負荷 太郎",
            "contact_email": "load@demo.sekispe.example",
            "theme": random.choice(["1", "2", "3", "4", "5", "undecided"]),
            "preferred_form": random.choice(["visit", "online", "either"]),
            "message": "負荷試験の相談です。",
            "prefecture": random.choice(PREFECTURES),
        }
        with self.client.post(
            url,
            data=data,
            headers={"Origin": self.host},
            allow_redirects=False,
            name="/inquiries/new/<number>/ (send)",
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "/inquiries/" in response.headers["Location"]:
                response.success()
            else:
                response.failure(f"inquiry not sent: {response.status_code}")
