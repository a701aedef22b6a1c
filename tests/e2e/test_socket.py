"""/ws/kpis/ against the running server: credentials, policy close codes,
and a summary pushed after an ops action commits."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from molam_ops.tokens import mint
from tests.e2e.server import Server


def ws_url(server: Server, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/ws/kpis/{query}"


def close_code(url: str, **kw: Any) -> int:
    with (
        connect(url, open_timeout=5, **kw) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    return closed.value.rcvd.code


def next_summary(ws: Any, timeout: float = 5) -> dict[str, Any]:
    message = json.loads(ws.recv(timeout=timeout))
    assert message["type"] == "summary"
    return message["summary"]


def post(server: Server, path: str, token: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own local server
        server.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


def test_without_credentials_closed_4401(server: Server) -> None:
    origin = f"http://127.0.0.1:{server.port}"
    assert close_code(ws_url(server), origin=origin) == 4401


def test_bad_token_closed_4401(server: Server) -> None:
    assert close_code(ws_url(server, "?token=not-a-jwt")) == 4401
    expired = mint(sub="alice", roles=["pay_admin"], extra={"exp": 1})
    assert close_code(ws_url(server, f"?token={expired}")) == 4401


def test_no_known_role_closed_4403(server: Server) -> None:
    token = mint(sub="mallory", roles=["auditor"])
    assert close_code(ws_url(server, f"?token={token}")) == 4403


def test_cookie_sockets_need_an_allowed_origin(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(server), origin="https://evil.example", open_timeout=5)
    assert refused.value.response.status_code == 403


def test_summary_on_connect_and_after_an_action(server: Server) -> None:
    token = mint(sub="alice", roles=["pay_admin"])
    with connect(
        ws_url(server), subprotocols=["molam.jwt", token], open_timeout=5
    ) as ws:
        assert ws.subprotocol == "molam.jwt"
        first = next_summary(ws)
        bank = next(b for b in first["banks"] if not b["paused"])
        started = time.monotonic()
        status = post(
            server,
            "/api/ops/pause-bank",
            token,
            {"bank_profile_id": bank["id"], "reason": "socket test"},
        )
        assert status == 200
        # pushed (not polled: the summary would otherwise wait for the timer)
        # frames without the pause (a refresh already under way) may come
        # first; the deadline keeps a socket that never shows it from looping
        while time.monotonic() - started < 2:
            summary = next_summary(ws, timeout=3)
            pushed = {b["id"]: b for b in summary["banks"]}[bank["id"]]
            if pushed["paused"]:
                break
        assert pushed["paused"], "no pushed summary showed the pause within 2 s"
        assert time.monotonic() - started < 2
        post(server, "/api/ops/resume-bank", token, {"bank_profile_id": bank["id"]})


def test_token_in_the_query_and_refresh_request(server: Server) -> None:
    token = mint(sub="chloe", roles=["ops"])
    with connect(ws_url(server, f"?token={token}"), open_timeout=5) as ws:
        next_summary(ws)
        ws.send("not json")  # ignored, the socket stays open
        ws.send(json.dumps({"type": "refresh"}))
        assert next_summary(ws)["computed_at"]
