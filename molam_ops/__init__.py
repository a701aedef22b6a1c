"""The project package: settings, URLs, ASGI/WSGI and the Celery app
(``molam_ops.celery``, loaded by ``MolamOpsConfig.ready()`` and by
``celery -A molam_ops``); the ops kernel."""
