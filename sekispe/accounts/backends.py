"""The only authentication backend: Django's model backend behind the sign-in budgets.

Every password check that goes through `authenticate` (the app login, the
admin login, and any future API sign-in) passes here, so the throttle lives
in one place and admin failures count toward the app's budget and back.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from sekispe.accounts import services


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        # Raises LoginThrottled (a PermissionDenied) when a budget is spent:
        # Django then stops trying backends and `authenticate` returns None.
        return services.checked_password(
            request,
            username,
            lambda: super(ThrottledModelBackend, self).authenticate(
                request, username=username, password=password, **kwargs
            ),
        )
