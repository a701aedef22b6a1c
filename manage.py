#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
    from django.core.management import execute_from_command_line

    from molam_ops.boot import load_settings

    load_settings()  # a configuration error: one line naming the variable, exit 1

    execute_from_command_line(sys.argv)
