from django.urls import path

from sekispe.opendata import views

app_name = "opendata"
urlpatterns = [
    path("", views.index, name="index"),
    path("<str:slug>.csv", views.table_csv, name="table_csv"),
    path("<str:slug>.json", views.table_json, name="table_json"),
    path("<str:slug>/", views.table, name="table"),
]
