"""Operators' queue of contact-change requests from registrants without an account,
mounted at /ops/contact-changes/."""

from django.urls import path

from sekispe.accounts import views_claim

app_name = "ops_contact_changes"
urlpatterns = [
    path("", views_claim.ops_queue, name="list"),
    path("<int:pk>/", views_claim.ops_detail, name="detail"),
]
