from django.apps import AppConfig


class ListingsConfig(AppConfig):
    name = "sekispe.listings"
    verbose_name = "アクティブリスト掲載"

    def ready(self) -> None:
        from sekispe.listings.models import Listing
        from sekispe.registry import providers

        # The registry's public search links entries to their Active List page
        # (registry.providers: the registry sits below listings).
        providers.provide_visible_listings(Listing.objects.visible)
