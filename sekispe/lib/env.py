"""Typed access to environment variables that fails loudly on a bad value."""

from __future__ import annotations

import os
from email.utils import getaddresses
from urllib.parse import urlsplit

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    pass


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ConfigError(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not an integer") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return list(default or [])
    return [part.strip() for part in value.split(",") if part.strip()]


def env_admins(name: str, default: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """`"Name <a@example.jp>, b@example.jp"` as Django's ADMINS: [(name, address), ...].

    A bare address is its own name. A name holding a comma must be quoted
    (`"Doe, John" <j@example.jp>`), as in a mail header.
    """
    value = os.environ.get(name)
    if value is None or not value.strip():
        return list(default or [])
    admins: list[tuple[str, str]] = []
    for display, address in getaddresses([value]):
        if not display and not address:  # a stray comma, as env_list allows
            continue
        local, _, domain = address.partition("@")
        if not local or "." not in domain.strip(".") or any(c.isspace() for c in address):
            raise ConfigError(f"{name}={value!r} holds something that is not an e-mail address")
        admins.append((display or address, address))
    return admins


def env_url(name: str, default: str | None = None, *, schemes: tuple[str, ...]) -> str:
    """An absolute URL with one of `schemes` and a host; no trailing slash."""
    value = env_str(name, default).strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{name}={value!r} must be an absolute URL starting with {allowed}")
    return value.rstrip("/")
