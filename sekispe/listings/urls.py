"""The specialist's self-service, mounted at /me/. No URL carries an id: the
listing is always the signed-in specialist's own."""

from django.urls import path

from sekispe.listings import views
from sekispe.me import views as front_page

app_name = "me"
urlpatterns = [
    path("", front_page.home, name="home"),
    path("listing/", views.listing_view, name="listing"),
    path("listing/availability/", views.availability_view, name="availability"),
    path("listing/preview/", views.preview_view, name="preview"),
    path("listing/submit/", views.submit_view, name="submit"),
    path("listing/confirm/", views.confirm_view, name="confirm"),
    path("listing/withdraw/", views.withdraw_view, name="withdraw"),
    path("listing/reopen/", views.reopen_view, name="reopen"),
    path("data.json", views.export_view, name="export"),
]
