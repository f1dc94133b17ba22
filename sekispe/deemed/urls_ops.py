from django.urls import path  # noqa: F401

app_name = "deemed_ops"

urlpatterns: list = []
