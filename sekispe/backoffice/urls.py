from django.urls import path

from sekispe.backoffice import views, views_outbox

app_name = "backoffice"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:listing_id>/", views.review, name="review"),
    path("listings/", views.listings, name="listings"),
    path("listings/<int:listing_id>/", views.listing, name="listing"),
    path("registry/", views.registry, name="registry"),
    path("registry/<int:record_id>/", views.record, name="record"),
    path("history/listing/<int:listing_id>/", views.listing_history, name="listing_history"),
    path("history/record/<int:record_id>/", views.record_history, name="record_history"),
    path("institutions/", views.institutions, name="institutions"),
    path("institutions/new/", views.institution_new, name="institution_new"),
    path("analysts/", views.analysts, name="analysts"),
    path("analysts/new/", views.analyst_new, name="analyst_new"),
    path("criteria/", views.criteria, name="criteria"),
    path("outbox/", views_outbox.outbox, name="outbox"),
    path("outbox/<int:mail_id>/retry/", views_outbox.outbox_retry, name="outbox_retry"),
    path("outbox/<int:mail_id>/cancel/", views_outbox.outbox_cancel, name="outbox_cancel"),
]
