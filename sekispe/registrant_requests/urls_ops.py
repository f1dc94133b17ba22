"""Operators' review of registrant requests, mounted at /ops/requests/."""

from django.urls import path

from sekispe.registrant_requests import views_ops

app_name = "ops_requests"
urlpatterns = [
    path("", views_ops.queue, name="list"),
    path("<int:pk>/", views_ops.detail, name="detail"),
    path("death/<int:record_id>/", views_ops.death, name="death"),
]
