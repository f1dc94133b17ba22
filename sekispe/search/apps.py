from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "sekispe.search"
    verbose_name = "検索"

    def ready(self) -> None:
        from sekispe.search import signals  # noqa: F401
