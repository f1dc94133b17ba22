from django.apps import AppConfig


class RegistrantRequestsConfig(AppConfig):
    name = "sekispe.registrant_requests"
    verbose_name = "登録後の申請・届出"
