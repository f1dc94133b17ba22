from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "sekispe.events"
    verbose_name = "相談会"
