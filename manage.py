#!/usr/bin/env python
"""Django's command line for Guanxi.

platform/ is a plain folder (see ARCHITECTURE.md): it goes on sys.path so that the project
package `guanxi` imports while `import platform` still finds the standard library.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
