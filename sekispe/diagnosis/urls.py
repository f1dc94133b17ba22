"""The self-diagnosis pages under /diagnosis/ (public; history for SME accounts)."""

from django.urls import path  # noqa: F401

app_name = "diagnosis"
urlpatterns: list = []
