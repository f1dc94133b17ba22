from django.urls import path

from sekispe.insights import views

app_name = "insights"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("registrants/", views.registrants, name="registrants"),
    path("supply/", views.supply, name="supply"),
    path("demand/", views.demand, name="demand"),
    path("funnel/", views.funnel, name="funnel"),
    path("smes/", views.smes, name="smes"),
    path("security-action/", views.security_action, name="security_action"),
    # One fixed path per area, so no pattern here catches a sibling's URL.
    *(
        path(f"{segment}.csv", views.export, {"area": segment}, name=f"{name}_csv")
        for name, segment in views.AREAS.items()
    ),
]
