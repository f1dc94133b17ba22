from django.urls import path

from sekispe.insights import views_map

app_name = "insights_map"
urlpatterns = [
    path("map/", views_map.map_page, name="map"),
    path("prefectures/<str:code>/", views_map.prefecture_page, name="prefecture"),
]
