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
    # `sekispe help seed-demo` names the command in the second position.
    for position in (1, 2) if len(args) > 2 and args[1] == "help" else (1,):
        if len(args) > position and not args[position].startswith("-"):
            args[position] = args[position].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
