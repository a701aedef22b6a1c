import os

from django.core.wsgi import get_wsgi_application

from molam_ops.boot import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
load_settings()  # a configuration error: one line naming the variable, exit 1
application = get_wsgi_application()
