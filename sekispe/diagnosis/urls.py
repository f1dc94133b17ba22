"""The self-diagnosis pages under /diagnosis/ (public; history for SME accounts)."""

from django.urls import path

from sekispe.diagnosis import views, views_security_action

app_name = "diagnosis"
urlpatterns = [
    path("", views.start, name="start"),
    path("r/<str:token>/", views.result, name="result"),
    path("r/<str:token>/pdf/", views.result_pdf, name="pdf"),
    path("history/", views.history, name="history"),
    path("history/claim/", views.claim, name="claim"),
    path("security-action/", views_security_action.declarations, name="security_action"),
]
