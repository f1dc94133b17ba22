from django.apps import AppConfig


class InquiriesConfig(AppConfig):
    name = "sekispe.inquiries"
    verbose_name = "相談・指導の依頼"

    def ready(self) -> None:
        # Search sits below this app: it learns who is at capacity through
        # this registration, never by importing it.
        from sekispe.inquiries.services import open_engagements_by_listing
        from sekispe.search import index

        index.count_open_engagements_with(open_engagements_by_listing)
