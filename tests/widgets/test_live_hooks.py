"""The runner's after-commit hooks: widgets publish after an action commits,
not for refusals; the socket's message de-duplication."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from molam_ops.actions.ports import ports
from tests.conftest import post_action
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


def test_publish_reaches_the_group() -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def listen() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add(live.GROUP, channel)
        await asyncio.get_running_loop().run_in_executor(None, live.publish_summary)
        message = await asyncio.wait_for(layer.receive(channel), 5)
        await layer.group_discard(live.GROUP, channel)
        return message

    message = async_to_sync(listen)()
    assert message["type"] == "kpis.changed" and message["id"]


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

    asyncio.run(scenario())
    assert pushed == ["d", "d"]
