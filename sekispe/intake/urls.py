"""The public registration application, mounted at /register/."""

from django.urls import path

from sekispe.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.apply, name="apply"),
    path("done/", views.done, name="done"),
]
