"""Operators' renewal list and disaster measures, mounted at /ops/ (registry operations)."""

from django.urls import path  # noqa: F401

app_name = "ops_registry"
urlpatterns: list = []
