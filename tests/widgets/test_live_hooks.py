"""The runner's after-commit hooks: widgets publish after an action commits,
not for refusals; the socket's message de-duplication."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from molam_ops.actions.ports import ports
from tests.helpers import post_action
from tests.widgets import loops
from widgets import live

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls() -> Any:
    seen: list[str] = []

    def hook(ctx: Any) -> None:
        seen.append(ctx.action_type)

    ports.after_commit_hooks.append(hook)
    yield seen
    ports.after_commit_hooks.remove(hook)


def test_widgets_registered_their_publisher() -> None:
    assert live.publish_summary in ports.after_commit_hooks


def test_hooks_run_after_commit_only(
    pay_admin: Any, bank: Any, calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}
    with django_capture_on_commit_callbacks(execute=False) as pending:
        assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert calls == []  # nothing before the commit
    for callback in pending:
        callback()
    assert calls == ["pause_bank"]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_action(pay_admin, "pause-bank", body).status_code == 409
    assert calls == ["pause_bank"]  # a refusal changes nothing: no hook


class Recorder:
    """A socket as the hub sees it: records the frames pushed to it."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def push(self, frame: str, digest: str) -> None:
        self.frames.append(json.loads(frame))


SUMMARY = {"computed_at": "2026-11-28T00:00:00Z", "payouts": {"failed": 3}}


async def until(check: Any, seconds: float = 5) -> None:
    for _ in range(int(seconds / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in time")


@pytest.fixture
def fixed_summary(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    # the hub computes in a worker thread, outside the test's transaction
    monkeypatch.setattr(live.selectors, "kpi_summary_cached", lambda: dict(SUMMARY))
    settings.KPI_LIVE_INTERVAL = 60  # what arrives is pushed, not polled


@pytest.mark.usefixtures("fixed_summary")
def test_publish_from_the_request_thread_reaches_the_local_sockets() -> None:
    """publish_summary runs in the request's thread and does not wait for the
    send: the hub of the process's sockets computes once (through asgiref's
    sync thread, which the request's context must not leak into) and pushes
    one frame to each socket."""

    async def scenario() -> list[Recorder]:
        sockets = [Recorder() for _ in range(3)]
        for socket in sockets:
            live.hub.attach(socket)
        try:
            # where the runner calls it: asgiref's one sync thread (a request)
            await sync_to_async(live.publish_summary, thread_sensitive=True)()
            await until(lambda: all(s.frames for s in sockets))
        finally:
            for socket in sockets:
                live.hub.detach(socket)
        return sockets

    for socket in loops.run(scenario()):
        assert socket.frames == [{"type": "summary", "summary": SUMMARY}]


@pytest.mark.usefixtures("fixed_summary")
def test_one_group_member_per_process_over_redis(
    settings: Any, redis_client: Any
) -> None:
    """With Redis, the group holds the hub's one channel, not one per socket,
    and a change published by another process reaches every local socket."""
    from channels_redis.core import RedisChannelLayer

    from tests.helpers import redis_url

    backend = "channels_redis.core.RedisChannelLayer"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend, "CONFIG": {"hosts": [redis_url()]}}
    }
    members = lambda: redis_client.zcard(f"asgi:group:{live.GROUP}")  # noqa: E731

    async def scenario() -> list[Recorder]:
        sockets = [Recorder() for _ in range(50)]
        for socket in sockets:
            live.hub.attach(socket)
        try:
            await until(lambda: members() == 1)
            await asyncio.sleep(0.1)  # no late joiners
            assert members() == 1
            other_process = RedisChannelLayer(hosts=[redis_url()])
            event = {"type": "kpis.changed", "id": "from-another-process"}
            await other_process.group_send(live.GROUP, event)
            await until(lambda: all(s.frames for s in sockets))
        finally:
            for socket in sockets:
                live.hub.detach(socket)
        await until(lambda: members() == 0)  # the hub left with its last socket
        return sockets

    for socket in loops.run(scenario()):
        assert socket.frames == [{"type": "summary", "summary": SUMMARY}]


def test_hub_acts_once_per_message() -> None:
    pushed: list[str] = []

    class Listener:
        async def push(self, summary: dict[str, Any], digest: str) -> None:
            pushed.append(digest)

    async def scenario() -> None:
        hub = live.Hub()
        listener = Listener()
        hub.attach(listener)
        computed = []

        async def refresh() -> None:
            computed.append(1)
            await listener.push({}, "d")

        hub._refresh = refresh  # type: ignore[method-assign]
        for _ in range(50):  # one message, seen by 50 sockets of the process
            hub.changed("event-1")
        await asyncio.sleep(0)
        hub.changed("event-2")
        await asyncio.sleep(0)
        hub.detach(listener)
        assert len(computed) == 2

    loops.run(scenario())
    assert pushed == ["d", "d"]


def test_a_process_without_sockets_publishes_to_the_group(
    settings: Any, redis_client: Any
) -> None:
    """A worker (no socket, no event loop of its own) still tells the other
    processes, from its publisher thread, and without making its caller wait."""
    from channels_redis.core import RedisChannelLayer

    from tests.helpers import redis_url

    backend = "channels_redis.core.RedisChannelLayer"
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend, "CONFIG": {"hosts": [redis_url()]}}
    }
    assert live.hub.running_loop() is None

    async def scenario() -> dict[str, Any]:
        web_process = RedisChannelLayer(hosts=[redis_url()])
        channel = await web_process.new_channel()
        await web_process.group_add(live.GROUP, channel)
        live.publish_summary()  # from this thread, as a Celery task would
        return await asyncio.wait_for(web_process.receive(channel), 5)

    message = loops.run(scenario())
    assert message["type"] == "kpis.changed" and message["id"]


@pytest.mark.usefixtures("fixed_summary")
def test_an_idle_receiver_waits_without_timing_out(
    settings: Any, redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """channels_redis blocks 5 s in each receive: with the configured client
    timeout, an idle hub neither drops its connection nor logs a warning, and
    it stops when its last socket goes."""
    from channels_redis.core import RedisChannelLayer

    from tests.helpers import redis_url

    layer = settings.CHANNEL_LAYERS["default"]
    if "hosts" not in layer.get("CONFIG", {}):
        pytest.skip("no Redis channel layer configured (REDIS_URL unset)")
    (host,) = layer["CONFIG"]["hosts"]
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": layer["BACKEND"],
            "CONFIG": {"hosts": [{**host, "address": redis_url()}]},
        }
    }

    async def scenario() -> None:
        socket = Recorder()
        live.hub.attach(socket)
        try:
            await asyncio.sleep(RedisChannelLayer.brpop_timeout + 1.5)
        finally:
            live.hub.detach(socket)

    started = time.monotonic()
    loops.run(scenario())  # returns once the receiver has stopped
    assert [r.getMessage() for r in caplog.records if r.name == "widgets.live"] == []
    # the receiver ends at most one blocking pop after the last socket left
    assert time.monotonic() - started < 2 * RedisChannelLayer.brpop_timeout + 3
