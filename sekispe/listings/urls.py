from django.urls import path

app_name = "me"
urlpatterns: list = []
