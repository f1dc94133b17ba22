"""The one place roles are checked for views.

`role_required(*roles)`: anonymous users are sent to the login page; a signed-in
user of another role gets 403. Object access (a specialist's own listing) goes
through helpers such as `listings.services.get_specialist_listing`, which give
outsiders a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from sekispe.core.roles import Role

View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    allowed = frozenset(roles)
    assert allowed <= set(Role.values), allowed  # noqa: S101 — a typo here must fail at import

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_active or user.role not in allowed:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapper

    return decorator


operator_required = role_required(Role.OPERATOR)
specialist_required = role_required(Role.SPECIALIST)
