from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "sekispe.opendata"
    verbose_name = "オープンデータ（公開統計）"
