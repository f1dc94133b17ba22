"""Demo: production settings for a trial run on one machine (`docker compose up`
with SEKISPE_DEMO=1), over plain http on localhost, with the seed-demo command.

Production settings with a few environment defaults set first, so every
variable still means what .env.example says and an explicit value still wins.
`check --deploy` is not expected to pass here: it is not served over HTTPS.
"""

from __future__ import annotations

import os

# Defaults production refuses to guess; set before prod.py reads them.
os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
# A local trial has no proxy in front.
os.environ.setdefault("TRUSTED_PROXY_HOPS", "0")
# Nobody should receive mail from a demo; the worker prints it instead.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

from sekispe.settings.prod import *  # noqa: F403

SEKISPE_ENVIRONMENT = "demo"
INSTALLED_APPS = [*INSTALLED_APPS, "sekispe.devtools"]  # noqa: F405

# Plain http on localhost: no redirect to https, cookies sent without TLS,
# and no HSTS, which would pin the browser to https for 127.0.0.1 for a year.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
