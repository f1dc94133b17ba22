from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sekispe.accounts"
    verbose_name = "アカウント"
