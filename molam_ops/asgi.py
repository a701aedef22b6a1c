"""ASGI entry: HTTP through Django, WebSockets through Channels (widgets)."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "molam_ops.settings")
django_asgi = get_asgi_application()

application = ProtocolTypeRouter({"http": django_asgi})
