from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    name = "sekispe.devtools"
    verbose_name = "開発用ツール"
