from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    name = "sekispe.inquiries"
    verbose_name = "相談・指導の依頼"
