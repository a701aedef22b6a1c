"""/ws/kpis/ and the Origin of the page that opens it: this service's hosts
(ALLOWED_HOSTS) and CORS_ALLOWED_ORIGINS may, any other page may not (token
and session sockets alike), and a client without an Origin (a native app)
may, still with a token or a session. Through the real ASGI application and
channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from molam_ops.asgi import application
from molam_ops.tokens import mint
from tests.factories import operator_user

pytestmark = pytest.mark.usefixtures("tx_db")

APP_ORIGIN = "http://localhost:8081"


@pytest.fixture(autouse=True)
def cors(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["ops.example.com", "testserver"]
    settings.CORS_ALLOWED_ORIGINS = [APP_ORIGIN]


def token_path() -> str:
    return "/ws/kpis/?token=" + mint(sub="alice", roles=["pay_admin"])


def session_cookie() -> bytes:
    client = Client()
    client.force_login(operator_user("amadou", "pay_admin"))
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def open_socket(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """What the socket did: accepted or refused at the handshake, the close
    code sent after accepting, and the first frame's type."""

    async def run() -> dict[str, Any]:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        accepted, _protocol = await communicator.connect(timeout=10)
        seen: dict[str, Any] = {"accepted": accepted}
        if accepted:
            message = await communicator.receive_output(timeout=10)
            if message["type"] == "websocket.close":
                seen["close_code"] = message["code"]
            else:
                seen["frame"] = json.loads(message["text"])["type"]
            await communicator.disconnect()
        # the consumer read the database on asgiref's thread, whose
        # connection would outlive the test (and keep its database alive)
        await sync_to_async(connections.close_all, thread_sensitive=True)()
        return seen

    return asyncio.run(run())


def summary_served(seen: dict[str, Any]) -> bool:
    return seen == {"accepted": True, "frame": "summary"}


def test_a_native_app_without_origin_opens_a_token_socket() -> None:
    assert summary_served(open_socket(token_path(), []))


def test_without_origin_a_token_or_session_is_still_required() -> None:
    seen = open_socket("/ws/kpis/", [])
    assert seen == {"accepted": True, "close_code": 4401}


def test_a_session_socket_without_origin_is_served() -> None:
    seen = open_socket("/ws/kpis/", [(b"cookie", session_cookie())])
    assert summary_served(seen)


@pytest.mark.parametrize(
    "origin",
    ["https://ops.example.com", "http://testserver:8084", APP_ORIGIN],
    ids=["own-host", "own-host-any-port", "cors-origin"],
)
def test_allowed_origins_open_token_and_session_sockets(origin: str) -> None:
    header = (b"origin", origin.encode())
    assert summary_served(open_socket(token_path(), [header]))
    assert summary_served(
        open_socket("/ws/kpis/", [header, (b"cookie", session_cookie())])
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://localhost:9999",  # the allowed origin's host, another port
        "https://localhost:8081",  # and another scheme
        "null",
        "http://[",
        "http://localhost:99999",
    ],
)
def test_other_origins_are_refused_token_and_session_alike(origin: str) -> None:
    header = (b"origin", origin.encode())
    assert open_socket(token_path(), [header]) == {"accepted": False}
    cookie = (b"cookie", session_cookie())
    assert open_socket("/ws/kpis/", [header, cookie]) == {"accepted": False}


def test_the_list_is_empty_by_default_then_only_own_hosts(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = []
    app_page = (b"origin", APP_ORIGIN.encode())
    assert open_socket(token_path(), [app_page]) == {"accepted": False}
    own = (b"origin", b"https://ops.example.com")
    assert summary_served(open_socket(token_path(), [own]))
