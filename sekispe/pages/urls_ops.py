from django.urls import path

from sekispe.pages import views

app_name = "pages_ops"
urlpatterns = [
    path("", views.notice_list, name="notices"),
    path("new/", views.notice_new, name="notice_new"),
    path("<int:notice_id>/", views.notice_edit, name="notice_edit"),
]
