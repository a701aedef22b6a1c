"""Settings of the servers the benchmarks start: the product's, plus the floors.

``DJANGO_SETTINGS_MODULE=benchmarks.settings``. Everything else (DEBUG, the
database, Redis, secrets) comes from the environment exactly as in production;
the only additions are the floor app and a URL conf that mounts its views at
``/floor/`` in front of the product's own URLs.
"""

from molam_ops.settings import *  # noqa: F403
from molam_ops.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.floor.apps.FloorConfig"]
ROOT_URLCONF = "benchmarks.urls"
