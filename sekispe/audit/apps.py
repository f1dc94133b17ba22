from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "sekispe.audit"
    verbose_name = "監査ログ"
