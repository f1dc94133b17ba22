"""Consultation-event pages under /events/ (institution accounts; the sign-up link is public)."""

from django.urls import path

from sekispe.events import views

app_name = "events"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("referrals/", views.referrals, name="referrals"),
    path("report/", views.overall_report, name="overall_report"),
    path("report.xlsx", views.overall_report_xlsx, name="overall_report_xlsx"),
    path("join/<str:token>/", views.join, name="join"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/participants/", views.register, name="register"),
    path("<int:pk>/participants/<int:participant_pk>/", views.participant, name="participant"),
    path(
        "<int:pk>/participants/<int:participant_pk>/consultations/",
        views.consult,
        name="consult",
    ),
    path("<int:pk>/participants/<int:participant_pk>/referrals/", views.refer, name="refer"),
    path("<int:pk>/report/", views.event_report, name="report"),
    path("<int:pk>/report.xlsx", views.event_report_xlsx, name="report_xlsx"),
]
