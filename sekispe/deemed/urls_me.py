"""The specialist's deemed-attendance pages, mounted at /me/deemed/. No URL
carries a record id; application and confirmation ids are looked up within the
signed-in specialist's own record."""

from django.urls import path

from sekispe.deemed import views_me

app_name = "deemed_me"

urlpatterns = [
    path("", views_me.index, name="index"),
    path("new/", views_me.new, name="new"),
    path("from/<int:confirmation_id>/", views_me.from_confirmation, name="from_confirmation"),
    path("<int:pk>/", views_me.detail, name="detail"),
    path("<int:pk>/withdraw/", views_me.withdraw, name="withdraw"),
    path("<int:pk>/answer/", views_me.answer, name="answer"),
    path("<int:pk>/evidence/", views_me.evidence, name="evidence"),
    path("<int:pk>/resend/", views_me.resend, name="resend"),
    path("<int:pk>/form.pdf", views_me.form_pdf, name="form_pdf"),
]
