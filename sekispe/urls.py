from django.contrib import admin
from django.urls import include, path

from sekispe.api.urls import api
from sekispe.core.views import healthz
from sekispe.worker.views import ready

urlpatterns = [
    # The start page and the service's legal and help pages.
    path("", include("sekispe.pages.urls")),
    path("healthz", healthz, name="healthz"),
    path("healthz/ready", ready, name="healthz_ready"),
    # Early: a request tries the patterns in order, and the API is the most
    # requested path after the search page (no prefix below overlaps it).
    path("api/v1/", api.urls),
    path("specialists/", include("sekispe.search.urls")),
    path("accounts/", include("sekispe.accounts.urls")),
    path("registry/", include("sekispe.registry.urls_public")),
    path("diagnosis/", include("sekispe.diagnosis.urls")),
    path("inquiries/", include("sekispe.inquiries.urls")),
    path("events/", include("sekispe.events.urls")),
    path("register/", include("sekispe.intake.urls")),
    path("me/registry/", include("sekispe.registrant_requests.urls_me")),
    path("me/deemed/", include("sekispe.deemed.urls_me")),
    path("certify/", include("sekispe.deemed.urls_certify")),
    path("me/", include("sekispe.me.urls")),
    # The policy view (policy staff and operators) and the open statistics (everyone).
    path("insights/", include("sekispe.insights.urls")),
    path("insights/", include("sekispe.insights.urls_map")),
    path("statistics/", include("sekispe.opendata.urls")),
    path("ops/requests/", include("sekispe.registrant_requests.urls_ops")),
    path("ops/reports/", include("sekispe.reports.urls")),
    path("ops/deemed/", include("sekispe.deemed.urls_ops")),
    path("ops/notices/", include("sekispe.pages.urls_ops")),
    path("ops/applications/", include("sekispe.intake.urls_ops")),
    path("ops/contact-changes/", include("sekispe.accounts.urls_ops")),
    path("", include("sekispe.onboarding.urls")),
    path("ops/", include("sekispe.registry.urls_ops")),
    path("ops/", include("sekispe.backoffice.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
