from django.urls import path  # noqa: F401

app_name = "insights_map"
urlpatterns: list = []
