from django.apps import AppConfig


class RegistrantRequestsConfig(AppConfig):
    name = "sekispe.registrant_requests"
    verbose_name = "登録後の申請・届出"

    def ready(self) -> None:
        from sekispe.registrant_requests.models import RegistrantRequest, RequestKind, RequestStatus
        from sekispe.registry import providers

        # A pending renewal application keeps its registrant registered
        # (registry.providers: the registry sits below this app).
        providers.provide_pending_renewals(
            lambda: RegistrantRequest.objects.filter(
                kind=RequestKind.RENEWAL, status=RequestStatus.SUBMITTED
            )
        )
