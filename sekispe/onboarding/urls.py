"""Mounted at the site root: the operators' pages under /ops/ and the public
unsubscribe link under /mailings/."""

from django.urls import path

from sekispe.onboarding import views

app_name = "onboarding"
urlpatterns = [
    path("ops/invitations/bulk/", views.bulk_invitations, name="bulk"),
    path("ops/invitations/bulk/<int:pk>/", views.run_detail, name="run"),
    path("ops/mailings/", views.mailings, name="mailings"),
    path("ops/mailings/new/", views.mailing_new, name="mailing_new"),
    path("ops/mailings/<int:pk>/", views.mailing_detail, name="mailing"),
    path("mailings/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "mailings/unsubscribe/<str:token>/one-click/",
        views.unsubscribe_one_click,
        name="unsubscribe_one_click",
    ),
]
