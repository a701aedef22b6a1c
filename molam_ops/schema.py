"""OpenAPI extensions: document the Molam ID bearer token."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class MolamJWTScheme(OpenApiAuthenticationExtension):
    target_class = "molam_ops.identity.MolamJWTAuthentication"
    name = "molamIdJWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT (RS256)",
            "description": "A Molam ID access token (DESIGN §4).",
        }
