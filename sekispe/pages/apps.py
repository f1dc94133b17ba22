from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "sekispe.pages"
    verbose_name = "お知らせと案内ページ"
