"""The floor table: what one bare INSERT costs in this server."""

from __future__ import annotations

from django.db import models


class FloorRow(models.Model):
    """One row per request of the bare-INSERT floor; nothing reads it."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "bench_floor_rows"

    def __str__(self) -> str:
        return f"floor row {self.pk}"
