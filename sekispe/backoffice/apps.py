from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "sekispe.backoffice"
    verbose_name = "運営者画面"
