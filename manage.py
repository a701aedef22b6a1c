#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
    if sys.argv[1:2] == ["verify_audit"]:
        # an auditor's machine has none of the service's secrets, and the
        # offline verifier reads only the files it is given
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    from molam_ops.boot import load_settings

    load_settings()  # a configuration error: one line naming the variable, exit 1

    execute_from_command_line(sys.argv)
