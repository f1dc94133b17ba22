"""Statutory and operational reports, mounted at /ops/reports/."""

from django.urls import path

from sekispe.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("registration/", views.registration, name="registration"),
    path("courses/", views.courses, name="courses"),
    path("missing-courses/", views.missing, name="missing"),
    path("deregistrations/", views.deregistrations, name="deregistrations"),
    path("requests/", views.requests, name="requests"),
    path("deemed-attendance/", views.deemed_attendance, name="deemed"),
]
