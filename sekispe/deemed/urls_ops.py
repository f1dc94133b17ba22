"""The operators' deemed-attendance pages, mounted at /ops/deemed/."""

from django.urls import path

from sekispe.deemed import views_ops

app_name = "deemed_ops"

urlpatterns = [
    path("", views_ops.queue, name="queue"),
    path("<int:pk>/", views_ops.detail, name="detail"),
    path("<int:pk>/approve/", views_ops.approve, name="approve"),
    path("<int:pk>/reject/", views_ops.reject, name="reject"),
    path("<int:pk>/request-information/", views_ops.request_information, name="request_info"),
    path("<int:pk>/audit-outcome/", views_ops.audit_outcome, name="audit_outcome"),
    path("cases/", views_ops.cases, name="cases"),
    path("cases/<int:pk>/", views_ops.case_detail, name="case"),
    path("cases/<int:pk>/revoke/", views_ops.revoke_registration, name="revoke"),
    path("cases/<int:pk>/close/", views_ops.close_case, name="close"),
    path("audits/", views_ops.audits, name="audits"),
    path("audits/draw/", views_ops.draw, name="draw"),
]
