"""公開検索サービス /registry/ (the public search service)."""

from django.urls import path  # noqa: F401

app_name = "registry"
urlpatterns: list = []
