from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReferenceConfig(AppConfig):
    name = "sekispe.reference"
    verbose_name = "参照コード"

    def ready(self) -> None:
        from sekispe.reference.services import sync_reference_data_on_migrate

        post_migrate.connect(sync_reference_data_on_migrate, sender=self)
