"""The floors: bare DRF views in the same server as the pipeline.

No authentication, no permission, no runner: what is left is the cost of the
server, Django's middleware and DRF itself, plus (for the INSERT) one database
round trip. ``make bench`` compares the real endpoints with these.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks.floor.models import FloorRow

CONSTANT = {"ok": True, "bench": "constant"}


class BareInsertApi(APIView):
    """POST: one INSERT (autocommit, no explicit transaction)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    schema = None  # not part of the API: kept out of the OpenAPI document

    def post(self, request: Request) -> Response:
        FloorRow.objects.create(created_at=timezone.now())
        return Response({"ok": True})


class BareConstantApi(APIView):
    """GET: a constant body, no database."""

    authentication_classes = []
    permission_classes = [AllowAny]
    schema = None  # not part of the API: kept out of the OpenAPI document

    def get(self, request: Request) -> Response:
        return Response(CONSTANT)
