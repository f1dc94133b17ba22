from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "sekispe.core"
    verbose_name = "共通"
