"""Operators' review of registrant requests, mounted at /ops/requests/."""

from django.urls import path  # noqa: F401

app_name = "ops_requests"
urlpatterns: list = []
