"""A CSRF token for pages served often to visitors without a session.

Django's `get_token` draws each of the 64 characters of a new mask with its
own call to the operating system (`secrets.choice`): 55-85 µs of a search page
that otherwise costs ~0.4 ms (issue 18), and each of those calls lets another
thread take the interpreter, which put the process's background threads' work
in the page's slowest responses. `get_token` here returns the same kind of
value, a fresh random mask over the request's secret, drawing the randomness
in one call. Django's middleware checks it as its own (a test unmasks one).
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_CHARS = CSRF_ALLOWED_CHARS
_INDEX = {char: i for i, char in enumerate(_CHARS)}
# Bytes below this are used, the rest drawn again: 248 = 4 x 62, so each
# character is uniform over the 62.
_UNBIASED_BELOW = 256 - 256 % len(_CHARS)


def random_csrf_string() -> str:
    """CSRF_SECRET_LENGTH characters of CSRF_ALLOWED_CHARS, uniformly random."""
    drawn: list[str] = []
    while len(drawn) < CSRF_SECRET_LENGTH:
        # 48 bytes leave 32 usable with probability above 0.999999.
        for byte in secrets.token_bytes(48):
            if byte < _UNBIASED_BELOW:
                drawn.append(_CHARS[byte % len(_CHARS)])
    return "".join(drawn[:CSRF_SECRET_LENGTH])


def get_token(request: HttpRequest) -> str:
    """`django.middleware.csrf.get_token`: the request's secret (a new one
    when it has none, which the middleware then sets as the cookie) under a
    new mask."""
    if "CSRF_COOKIE" in request.META:
        secret = request.META["CSRF_COOKIE"]
    else:
        secret = random_csrf_string()
        request.META["CSRF_COOKIE"] = secret
    # Sent again either way, so its expiry starts over (as Django does).
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = random_csrf_string()
    cipher = "".join(
        _CHARS[(_INDEX[s] + _INDEX[m]) % len(_CHARS)] for s, m in zip(secret, mask, strict=True)
    )
    return mask + cipher
