"""Operators' renewal list and disaster measures, mounted at /ops/ (registry operations)."""

from django.urls import path

from sekispe.registry import views_ops

app_name = "ops_registry"
urlpatterns = [
    path("renewals/", views_ops.renewals, name="renewals"),
    path("disasters/", views_ops.disasters, name="disasters"),
    path("disasters/new/", views_ops.disaster_new, name="disaster_new"),
    path("disasters/<int:pk>/", views_ops.disaster, name="disaster"),
]
