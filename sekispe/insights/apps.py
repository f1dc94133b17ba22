from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "sekispe.insights"
    verbose_name = "政策向けの集計"
