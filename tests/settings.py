"""The test suite's settings: the product's, with ``TESTING`` on.

pytest-django loads this module (``DJANGO_SETTINGS_MODULE`` in pyproject.toml).
``molam_ops/settings.py`` reads ``TESTING`` from the environment while it loads
(it decides the development defaults there), so it is set first; processes a
test starts inherit it, and this module's name, unless the test gives them an
environment of their own.
"""

import os

os.environ["TESTING"] = "1"

from molam_ops.settings import *  # noqa: F403

TESTING = True
# Tests call the API far more than 100 times a minute as one user, and as
# anonymous callers from one address; the rate limit's own tests
# (tests/molam_ops/test_hardening_ratelimit.py) turn it back on.
RATE_LIMIT_PER_MINUTE = 0
RATE_LIMIT_ANONYMOUS_PER_MINUTE = 0
# Pages rendered by the test client name the static files as they are, with
# no collectstatic run first; tests/widgets/test_static_files.py collects and
# checks the hashed names.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
