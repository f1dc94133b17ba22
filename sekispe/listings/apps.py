from django.apps import AppConfig


class ListingsConfig(AppConfig):
    name = "sekispe.listings"
    verbose_name = "アクティブリスト掲載"
