from django.apps import AppConfig


class DeemedConfig(AppConfig):
    name = "sekispe.deemed"
    verbose_name = "みなし受講"
