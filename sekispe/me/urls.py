"""The registrant's pages under /me/: the front page and the listing's
self-service. No URL carries an id: the listing is always the signed-in
specialist's own."""

from django.urls import path

from sekispe.listings import views as listing
from sekispe.me import views

app_name = "me"
urlpatterns = [
    path("", views.home, name="home"),
    path("listing/", listing.listing_view, name="listing"),
    path("listing/availability/", listing.availability_view, name="availability"),
    path("listing/preview/", views.listing_preview, name="preview"),
    path("listing/submit/", listing.submit_view, name="submit"),
    path("listing/confirm/", listing.confirm_view, name="confirm"),
    path("listing/withdraw/", listing.withdraw_view, name="withdraw"),
    path("listing/reopen/", listing.reopen_view, name="reopen"),
    path("data.json", listing.export_view, name="export"),
]
