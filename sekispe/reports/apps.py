from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "sekispe.reports"
    verbose_name = "法定報告・運用レポート"
