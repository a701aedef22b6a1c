"""Authentication gate for action endpoints; the role check is the runner's, so
that a refused role still leaves its audit row (DESIGN §3)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from molam_ops.identity import request_principal


class IsAuthenticatedPrincipal(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if request_principal(request) is None:
            raise exceptions.NotAuthenticated()
        return True
