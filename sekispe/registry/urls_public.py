"""公開検索サービス /registry/ (the public search service)."""

from django.urls import path

from sekispe.registry import views_public

app_name = "registry"
urlpatterns = [
    path("", views_public.search_page, name="search"),
    path("<str:registration_number>/", views_public.record_page, name="record"),
]
