from __future__ import annotations

from sekispe.lib.env import env_bool
from sekispe.settings.base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)

# Demo data and benchmarks (seed-demo, bench); never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "sekispe.devtools"]  # noqa: F405
