"""Signed checkpoints of the audit log and RFC 9162 proofs (DESIGN §3)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import checkpoints, signing, tree
from audit.models import AuditCheckpoint
from molam_ops.errors import OpsError
from molam_ops.lib.fields import AsciiIntegerField

# the largest tree size a query may name (a BIGINT seq)
MAX_SIZE = 2**63 - 1


class CheckpointSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="MTH, 64 hex digits")
    timestamp = serializers.CharField(help_text="ISO 8601 UTC, as signed")
    key_id = serializers.CharField(help_text="SHA-256(raw public key)[:8], hex")
    signature = serializers.CharField(
        help_text='Ed25519, base64, over RFC 8785 of {"root_hash", "timestamp", '
        '"tree_size"}'
    )

    def to_representation(self, instance: AuditCheckpoint) -> dict[str, Any]:
        return checkpoints.checkpoint_json(instance)


@extend_schema(tags=["audit"], responses=CheckpointSerializer(many=True))
class CheckpointListApi(generics.ListAPIView):
    """Signed tree heads of the audit log, newest first."""

    serializer_class = CheckpointSerializer

    def get_queryset(self) -> QuerySet[AuditCheckpoint]:
        return AuditCheckpoint.objects.order_by("-tree_size")


class CheckpointKeySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    key_id = serializers.CharField()
    public_key = serializers.CharField(help_text="Ed25519, PEM SubjectPublicKeyInfo")


class CheckpointKeyApi(APIView):
    """The public key that signs new checkpoints."""

    @extend_schema(tags=["audit"], responses=CheckpointKeySerializer)
    def get(self, request: Request) -> Response:
        key = signing.public_key()
        return Response(
            {
                "ok": True,
                "key_id": signing.key_id(key),
                "public_key": signing.public_pem(key),
            }
        )


class CheckpointNoteApi(APIView):
    """The newest checkpoint as a C2SP tlog-checkpoint signed note."""

    @extend_schema(
        tags=["audit"],
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            404: OpenApiResponse(description="no checkpoint yet"),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        cp = AuditCheckpoint.objects.order_by("-tree_size").first()
        if cp is None:
            raise OpsError(
                "not_found", _("No checkpoint has been signed yet."), status=404
            )
        return HttpResponse(
            checkpoints.note(cp), content_type="text/plain; charset=utf-8"
        )


def _size_error(name: str, limit: int) -> serializers.ValidationError:
    return serializers.ValidationError(
        {name: [_("At most %(n)d: the tree covers %(n)d rows.") % {"n": limit}]}
    )


class ProofSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    leaf_index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField(help_text="SHA-256(0x00 ‖ row hash), hex")
    audit_path = serializers.ListField(child=serializers.CharField())


class ProofApi(APIView):
    """RFC 9162 inclusion proof of row ``seq`` (leaf seq - 1) in the tree of
    the first ``tree_size`` rows; sizes up to the stored tree's."""

    class InputSerializer(serializers.Serializer):
        seq = AsciiIntegerField(min_value=1, max_value=MAX_SIZE)
        tree_size = AsciiIntegerField(min_value=1, max_value=MAX_SIZE)

        def validate(self, attrs: dict[str, int]) -> dict[str, int]:
            if attrs["seq"] > attrs["tree_size"]:
                raise serializers.ValidationError(
                    {"seq": [_("Must be at most tree_size.")]}
                )
            stored = tree.stored_size()
            if attrs["tree_size"] > stored:
                raise _size_error("tree_size", stored)
            return attrs

    @extend_schema(
        tags=["audit"],
        parameters=[InputSerializer],
        responses=ProofSerializer,
        examples=[
            OpenApiExample(
                "seq 3 in a signed tree of 8 rows",
                value={
                    "ok": True,
                    "leaf_index": 2,
                    "tree_size": 8,
                    "leaf_hash": "9f…",
                    "audit_path": ["<leaf 3>", "<leaves 0-1>", "<leaves 4-7>"],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        index, size = data.validated_data["seq"] - 1, data.validated_data["tree_size"]
        leaf, path = tree.inclusion_proof(index, size)
        return Response(
            {
                "ok": True,
                "leaf_index": index,
                "tree_size": size,
                "leaf_hash": leaf.hex(),
                "audit_path": [h.hex() for h in path],
            }
        )


class ConsistencySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    proof = serializers.ListField(child=serializers.CharField())


class ConsistencyApi(APIView):
    """RFC 9162 consistency proof between the trees of the first ``first``
    and ``second`` rows (1 ≤ first ≤ second ≤ the stored tree's size; equal
    sizes have the empty proof). Take both from signed checkpoints."""

    class InputSerializer(serializers.Serializer):
        first = AsciiIntegerField(min_value=1, max_value=MAX_SIZE)
        second = AsciiIntegerField(min_value=1, max_value=MAX_SIZE)

        def validate(self, attrs: dict[str, int]) -> dict[str, int]:
            if attrs["first"] > attrs["second"]:
                raise serializers.ValidationError(
                    {"first": [_("Must be at most second.")]}
                )
            stored = tree.stored_size()
            if attrs["second"] > stored:
                raise _size_error("second", stored)
            return attrs

    @extend_schema(
        tags=["audit"],
        parameters=[InputSerializer],
        responses=ConsistencySerializer,
        examples=[
            OpenApiExample(
                "from the checkpoint of 4 rows to that of 7",
                value={
                    "ok": True,
                    "first": 4,
                    "second": 7,
                    "proof": ["<leaves 4-6>"],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        first, second = data.validated_data["first"], data.validated_data["second"]
        proof = tree.consistency_proof(first, second)
        return Response(
            {
                "ok": True,
                "first": first,
                "second": second,
                "proof": [h.hex() for h in proof],
            }
        )
