"""What every JSON API here shares: the error shapes and the parameter rule.

Here so that each app's router (search, registry, diagnosis, ...) answers
errors alike without importing another app's API.
"""

from __future__ import annotations

from ninja import Schema

# No parameter may hold a control character (sekispe.lib.text.CONTROL; the parser
# refuses them with a 422): what the free-text parameters declare.
NO_CONTROL = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"


class InvalidQuery(ValueError):
    """A search parameter is not valid. `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ErrorDetail(Schema):
    loc: list[str]
    msg: str
    type: str


class ErrorOut(Schema):
    detail: list[ErrorDetail]


class MessageOut(Schema):
    """A 404, a 429 and an unparsable JSON body's 400: one message."""

    detail: str
