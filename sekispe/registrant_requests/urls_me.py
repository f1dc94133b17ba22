"""The specialist's registry page and requests, mounted at /me/registry/. No URL carries a record id: the record is always the signed-in specialist's own."""

from django.urls import path

from sekispe.registrant_requests import views_me

app_name = "registrant"
urlpatterns = [
    path("", views_me.home, name="home"),
    path("renewal/", views_me.renewal, name="renewal"),
    path("requests/new/<slug:kind>/", views_me.new_request, name="new_request"),
    path("requests/<int:pk>/", views_me.request_detail, name="request"),
]
