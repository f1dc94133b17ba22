"""Inquiry pages under /inquiries/ (parties only; see views)."""

from django.urls import path

from sekispe.inquiries import views

app_name = "inquiries"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/<str:registration_number>/", views.new_inquiry, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/<str:action>/", views.act, name="act"),
]
