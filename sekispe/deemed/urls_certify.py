"""The certifier's pages, mounted at /certify/: public to whoever holds the
e-mailed single-use link."""

from django.urls import path

from sekispe.deemed import views_certify

app_name = "deemed_certify"

urlpatterns = [
    path("<str:token>/", views_certify.form, name="form"),
    path("<str:token>/done/", views_certify.done, name="done"),
    path("<str:token>/form.pdf", views_certify.form_pdf, name="form_pdf"),
]
