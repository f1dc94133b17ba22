from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "sekispe.intake"
    verbose_name = "登録申請の受付"
