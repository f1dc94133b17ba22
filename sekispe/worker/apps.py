from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "sekispe.worker"
    verbose_name = "バックグラウンド処理"
