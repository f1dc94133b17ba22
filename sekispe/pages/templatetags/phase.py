"""{% service_phase_setting as service_phase %}: the phase banner's setting, for
the error pages Django renders without a request (400, 500, CSRF failure),
where the context processor that gives every other page `service_phase` does
not run."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def service_phase_setting() -> str:
    return getattr(settings, "SEKISPE_SERVICE_PHASE", "")
