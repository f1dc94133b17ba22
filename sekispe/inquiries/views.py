"""Inquiry pages. (Being built: the pages helper fills these in.)"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def dashboard(request: HttpRequest) -> HttpResponse:
    raise Http404


def new_inquiry(request: HttpRequest, registration_number: str) -> HttpResponse:
    raise Http404


def detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    raise Http404
