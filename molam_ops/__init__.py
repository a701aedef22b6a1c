import django_stubs_ext

from molam_ops.celery import app as celery_app

# Django's generic classes (ModelAdmin[...], ...) accept a subscript at run
# time as they do for mypy; first, before any admin module is imported.
django_stubs_ext.monkeypatch()

__all__ = ("celery_app",)
