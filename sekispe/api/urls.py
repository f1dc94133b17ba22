"""The JSON API, versioned under /api/v1/. Each app contributes its router."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.context_processors import csrf
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase, _csrf_needed

from sekispe.core.api import InvalidQuery
from sekispe.diagnosis.api import router as diagnosis_router
from sekispe.opendata.api import router as statistics_router
from sekispe.reference.api import router as reference_router
from sekispe.registry.api import router as registry_router
from sekispe.search.api import router as search_router

_HTML = {"text/html": {"schema": {"type": "string"}}}
# Answers that come from below the API's own code, on every operation: Django's
# 400 page for a request it cannot parse (more than DATA_UPLOAD_MAX_NUMBER_FIELDS
# parameters, a Host not in ALLOWED_HOSTS), ninja's JSON 400 for a body that is
# not JSON, and gunicorn's 414 for a request line over limit_request_line (4,094
# bytes, its default, kept by deploy/gunicorn.conf.py).
_BAD_REQUEST = {
    "description": "The request cannot be parsed: more than 1,000 parameters or a bad "
    "Host (an HTML page from Django); with a JSON body, a body that is not JSON "
    '(`{"detail": "Cannot parse request body"}`).',
    "content": _HTML,
}
_URI_TOO_LONG = {
    "description": "The request line (method, path and query string) is over 4,094 "
    "bytes: an HTML page from the HTTP server, before the application sees it.",
    "content": _HTML,
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}},
}


class SekispeAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document also declares the 400 and 414 every
    operation can answer (tests/test_api_contract.py holds it to the server)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                bad_request = {**_BAD_REQUEST, "content": dict(_HTML)}
                if "requestBody" in operation:
                    bad_request["content"]["application/json"] = {
                        "schema": {"$ref": "#/components/schemas/MessageOut"}
                    }
                responses.setdefault(400, bad_request)
                responses.setdefault(414, _URI_TOO_LONG)
                if 429 in responses:
                    responses[429]["headers"] = _RETRY_AFTER
        return schema


class LocalSwagger(DocsBase):
    """Swagger UI from our own static files (sekispe/static/vendor/swagger-ui-*),
    started by sekispe/static/js/api-docs.js: no CDN and no inline script, so the
    page runs under the site's CSP unchanged. ninja's own Swagger renderer, with
    ninja not in INSTALLED_APPS, loads Swagger UI and favicons from CDNs and starts
    it with an inline script: all three refused by the CSP (issue 15, point 2)."""

    swagger_settings: dict[str, Any] = {
        "layout": "BaseLayout",
        # Off: with deep links each operation's path is a link inside its
        # toggle button, a nested control that axe refuses (nested-interactive).
        "deepLinking": False,
        # No badge image from validator.swagger.io (img-src 'self').
        "validatorUrl": None,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        openapi_url = self.get_openapi_url(api, kwargs)
        context = {
            "api": api,
            "openapi_url": openapi_url,
            "swagger_settings": json.dumps({**self.swagger_settings, "url": openapi_url}),
            "csrf_token_value": str(csrf(request)["csrf_token"]) if _csrf_needed(api) else "",
        }
        return render(request, "api/docs.html", context)


api = SekispeAPI(
    title="sekispe API",
    version="1",
    description="登録セキスペ アクティブリスト API. Errors: 422 with "
    '`{"detail": [{"loc": [...], "msg": "..."}]}` naming the parameter.',
    urls_namespace="api-v1",
    docs_url="/docs",
    docs=LocalSwagger(),
)
api.add_router("/specialists", search_router)
api.add_router("/reference", reference_router)
api.add_router("/registry", registry_router)
api.add_router("/diagnoses", diagnosis_router)
api.add_router("/statistics", statistics_router)


@api.exception_handler(InvalidQuery)
def invalid_query(request: HttpRequest, exc: InvalidQuery) -> HttpResponse:
    return api.create_response(
        request,
        {"detail": [{"loc": ["query", exc.field], "msg": exc.message, "type": "invalid"}]},
        status=422,
    )


@api.exception_handler(RequestDataTooBig)
def body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE (issue 13, finding 7): refused
    # before it is parsed, as a short JSON answer rather than Django's 400 page.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"リクエストの本文が大きすぎます（上限 {limit} バイト）。"}, status=413
    )
