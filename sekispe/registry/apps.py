from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "sekispe.registry"
    verbose_name = "登録簿"
