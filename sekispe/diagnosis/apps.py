from django.apps import AppConfig


class DiagnosisConfig(AppConfig):
    name = "sekispe.diagnosis"
    verbose_name = "中小企業の自己診断"
