"""The `sekispe` console command: Django's manage.py under the project's name.

Commands may be typed with hyphens (`sekispe seed-demo`); Django module names
use underscores, so the first argument is translated.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sekispe.settings.dev")
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
