"""The specialist's registry page and requests, mounted at /me/registry/. No URL carries a record id: the record is always the signed-in specialist's own."""

from django.urls import path  # noqa: F401

app_name = "registrant"
urlpatterns: list = []
