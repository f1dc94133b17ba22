"""The JSON API, versioned under /api/v1/. Each app contributes its router."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from sekispe.diagnosis.api import router as diagnosis_router
from sekispe.reference.api import router as reference_router
from sekispe.registry.api import router as registry_router
from sekispe.search.api import router as search_router
from sekispe.search.services import InvalidQuery

api = NinjaAPI(
    title="sekispe API",
    version="1",
    description="登録セキスペ アクティブリスト API. Errors: 422 with "
    '`{"detail": [{"loc": [...], "msg": "..."}]}` naming the parameter.',
    urls_namespace="api-v1",
    docs_url="/docs",
)
api.add_router("/specialists", search_router)
api.add_router("/reference", reference_router)
api.add_router("/registry", registry_router)
api.add_router("/diagnoses", diagnosis_router)


@api.exception_handler(InvalidQuery)
def invalid_query(request: HttpRequest, exc: InvalidQuery) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": [{"loc": ["query", exc.field], "msg": exc.message, "type": "invalid"}]},
        status=422,
    )
