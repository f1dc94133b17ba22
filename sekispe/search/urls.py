from django.urls import path

from sekispe.search import views

app_name = "search"
urlpatterns = [
    path("", views.search_page, name="index"),
    # Two segments, before the detail page (which takes any single segment).
    path("about/ordering/", views.ordering_page, name="ordering"),
    path("<str:registration_number>/", views.specialist_page, name="detail"),
    path("<str:registration_number>/contact/", views.contact_page, name="contact"),
]
