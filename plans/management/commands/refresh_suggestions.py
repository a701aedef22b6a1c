"""``manage.py refresh_suggestions``: refresh the stored suggestions now (as
beat does every ``SUGGESTIONS_REFRESH_SECONDS``); ``make run`` calls it at
start so the dashboard has them from the first page."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from plans.services import suggestion_refresh


class Command(BaseCommand):
    help = "Refresh the suggestions from SIRA or the local planner now."

    def handle(self, *args: Any, **opts: Any) -> None:
        changed = suggestion_refresh.refresh()
        self.stdout.write("suggestions updated" if changed else "suggestions unchanged")
