"""/api/schema/asyncapi.json: an AsyncAPI 3.0 document of /ws/kpis/ whose
summary schema is the OpenAPI document's, and real socket frames that
validate against it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from molam_ops.tokens import mint
from tests.factories import BankProfileFactory
from tests.schema_check import openapi_document
from widgets.asyncapi import OPENAPI_SCHEMA_FORMAT, asyncapi_document
from widgets.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document(openapi_document())


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def validator(document: dict[str, Any], message: str) -> OAS30Validator:
    """The payload schema of ``message``, in the format it declares."""
    payload = document["components"]["messages"][message]["payload"]
    assert payload["schemaFormat"] == OPENAPI_SCHEMA_FORMAT
    resource = Resource.from_contents(document, default_specification=DRAFT4)
    registry = Registry().with_resource("urn:asyncapi", resource)
    ref = "urn:asyncapi" + payload["schema"]["$ref"]
    return OAS30Validator({"$ref": ref}, registry=registry)


@pytest.mark.django_db
def test_served_beside_the_openapi_document(client: Client) -> None:
    resp = client.get("/api/schema/asyncapi.json")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/json")
    served = resp.json()
    assert served["asyncapi"] == "3.0.0"
    assert served["channels"] == asyncapi_document()["channels"]


def test_the_required_structure_of_asyncapi_3(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert {"title", "version"} <= set(document["info"])
    [channel] = document["channels"].values()
    assert channel["address"] == "/ws/kpis/"
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}
        assert resolve(document, operation["channel"]["$ref"]) is channel
        for message in operation["messages"]:
            # an operation's messages are its channel's
            assert message["$ref"].startswith("#/channels/kpis/messages/")
    actions = {o["action"] for o in document["operations"].values()}
    assert actions == {"send", "receive"}
    for server in document["servers"].values():
        assert {"host", "protocol"} <= set(server)
        assert server["protocol"] in {"ws", "wss"}
    for ref in refs(document):  # every reference resolves inside the document
        resolve(document, ref)
    assert set(document["x-close-codes"]) == {
        str(CLOSE_UNAUTHENTICATED),
        str(CLOSE_FORBIDDEN),
    }


def test_the_summary_schema_is_the_openapi_one(document: dict[str, Any]) -> None:
    openapi = openapi_document()["components"]["schemas"]
    mine = document["components"]["schemas"]
    assert mine["KpiSummary"] == openapi["KpiSummary"]
    shared = [
        name for name in mine if name not in {"KpiSummaryFrame", "KpiRefreshFrame"}
    ]
    assert "BankHealth" in shared
    for name in shared:
        assert mine[name] == openapi[name], name
    metrics = openapi["MetricsSummary"]["properties"]["summary"]
    assert metrics == {"$ref": "#/components/schemas/KpiSummary"}
    frame = mine["KpiSummaryFrame"]["properties"]["summary"]
    assert frame == {"$ref": "#/components/schemas/KpiSummary"}


def test_a_frame_off_the_schema_is_refused(document: dict[str, Any]) -> None:
    check = validator(document, "KpiSummaryFrame")
    assert list(check.iter_errors({"type": "summary", "summary": {}}))
    assert list(check.iter_errors({"type": "refresh"}))
    assert not list(
        validator(document, "KpiRefreshFrame").iter_errors({"type": "refresh"})
    )


async def _frames(token: str) -> tuple[list[Any], Any]:
    from molam_ops.asgi import application

    socket = WebsocketCommunicator(
        application, "/ws/kpis/", subprotocols=["molam.jwt", token]
    )
    connected, subprotocol = await socket.connect(timeout=10)
    assert connected and subprotocol == "molam.jwt"
    first = await socket.receive_json_from(timeout=10)
    await socket.send_json_to({"type": "refresh"})
    second = await socket.receive_json_from(timeout=10)
    await socket.disconnect()
    refused = WebsocketCommunicator(application, "/ws/kpis/?token=not-a-jwt")
    await refused.connect(timeout=10)
    closed = await refused.receive_output(timeout=10)
    await refused.wait()
    return [first, second], closed


def test_real_socket_frames_validate(document: dict[str, Any], tx_db: None) -> None:
    BankProfileFactory()  # a bank in the summary, so its schema is exercised
    token = mint(sub="alice", roles=["pay_admin"])
    frames, closed = asyncio.run(_frames(token))
    check = validator(document, "KpiSummaryFrame")
    for frame in frames:
        assert frame["type"] == "summary"
        assert frame["summary"]["banks"]
        errors = [e.message for e in check.iter_errors(frame)]
        assert errors == []
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
