"""The roles a user account can have.

Here rather than in `accounts` so that every app's views can check a role
(`core.permissions`) without importing the accounts app, which sits above
the registry and the listings.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SPECIALIST = "specialist", _("登録セキスペ")
    SME = "sme", _("中小企業")
    INSTITUTION = "institution", _("支援機関・ITベンダー")
    OPERATOR = "operator", _("運営者（IPA）")
    # Policy staff at METI and IPA: aggregates only, never personal data.
    ANALYST = "analyst", _("政策担当（集計の閲覧）")
