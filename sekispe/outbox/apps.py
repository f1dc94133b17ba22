from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "sekispe.outbox"
    verbose_name = "メール送信"
