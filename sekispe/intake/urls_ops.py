"""Operators' review of registration applications, mounted at /ops/applications/."""

from django.urls import path

from sekispe.intake import views_ops

app_name = "ops_applications"
urlpatterns = [
    path("", views_ops.queue, name="list"),
    path("<int:pk>/", views_ops.detail, name="detail"),
]
