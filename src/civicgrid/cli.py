"""The `civicgrid` console command: Django's management commands with civicgrid's settings.

`civicgrid demo`, `civicgrid import ...`, `civicgrid coverage ...` and every standard
command (`civicgrid migrate`, `civicgrid runserver`, `civicgrid db_worker`) go through here.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a management command with the dev settings unless DJANGO_SETTINGS_MODULE says otherwise."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicgrid.config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["civicgrid", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
