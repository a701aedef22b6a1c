"""KPI fan-out: from an action's response to 1,000 sockets updated.

Serves the app as production does (benchmarks/run.py: gunicorn with 2 uvicorn
workers, PostgreSQL, the Redis channel layer, DEBUG off, a run-generated RS256
key pair), on the payouts of benchmarks/kpi_summary.py (1,000,000 by default), and
opens ``--clients`` WebSockets on ``/ws/kpis/`` from one asyncio process, each
with its own operator's JWT in the ``molam.jwt`` subprotocol (widgets/auth.py).
Once every socket has its first summary, it POSTs ``--actions`` times
pause-bank / resume-bank (alternating, one bank) and measures, for each, from
the moment the 200 arrives to the moment the LAST socket has received a
summary showing the bank in its new state (0 when every socket had it before
the response arrived). Target: p99 <= 1 s.

The clients share the server's cores (2 on the reference machine) and parse
every frame, so the figure includes their own time: an upper bound.

    .venv/bin/python -m benchmarks.ws_fanout             # seeds 1M rows if needed
    .venv/bin/python -m benchmarks.ws_fanout --keep-db   # reuse them
    .venv/bin/python -m benchmarks.ws_fanout --payouts 0 --clients 200 --actions 30
    make bench-kpis

Needs PostgreSQL (``--database-url``, the database of benchmarks/kpi_summary.py by
default; dropped and recreated unless ``--keep-db``) and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
import uuid
from typing import Any

from benchmarks.harness import (
    Run,
    bench_run,
    main_entry,
    percentile,
    repeat_command,
    resume_paused,
    server_arguments,
    server_flags,
    verdict,
)
from benchmarks.kpi_summary import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    seed_payouts,
)
from benchmarks.serving import BenchError, Server, request

TARGET_P99_MS = 1000.0
ROLES = ["pay_admin", "finance_ops", "ops"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=1000, help="WebSockets")
    p.add_argument("--actions", type=int, default=30, help="actions (>= 20)")
    p.add_argument("--payouts", type=int, default=1_000_000, help="rows in payouts")
    p.add_argument("--days", type=int, default=90, help="history the payouts span")
    p.add_argument(
        "--pause", type=float, default=0.5, help="seconds between two actions"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=15,
        help="seconds an action may take to fan out",
    )
    server_arguments(p, database=DEFAULT_DATABASE_URL, redis=DEFAULT_REDIS_URL)
    p.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="permessage-deflate, which browsers offer and the server accepts",
    )
    p.add_argument("--strict", action="store_true", help="exit 2 on a missed target")
    return p.parse_args(argv)


def raise_fd_limit(clients: int) -> None:
    """Each socket is a descriptor here and one in the server (which inherits
    this limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = clients * 2 + 512
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < wanted:
        raise BenchError(f"need {wanted} file descriptors: raise `ulimit -n`")


class Clients:
    """The sockets, and for the action under way: when each one first saw
    the bank in the expected state."""

    def __init__(
        self, url: str, tokens: list[str], bank: str, compression: str | None
    ) -> None:
        self.url = url
        self.compression = compression
        self.tokens = tokens
        self.bank = bank
        self.bank_key = f'"id": "{bank}"'
        self.expected: bool | None = None
        self.seen: list[float | None] = [None] * len(tokens)
        self.first = [asyncio.Event() for _ in tokens]
        self.frames = 0
        self.closed: list[str] = []
        self.all_seen = asyncio.Event()
        self.missing = len(tokens)
        self.tasks: list[asyncio.Task[None]] = []

    def expect(self, paused: bool) -> None:
        self.expected = paused
        self.seen = [None] * len(self.tokens)
        self.missing = len(self.tokens)
        self.all_seen.clear()

    async def open(self) -> None:
        gate = asyncio.Semaphore(50)  # connect in waves, not 1,000 at once
        self.tasks = [
            asyncio.ensure_future(self._client(i, gate))
            for i in range(len(self.tokens))
        ]
        await asyncio.wait_for(
            asyncio.gather(*(e.wait() for e in self.first)), timeout=120
        )

    async def _client(self, i: int, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        try:
            async with gate:
                ws = await connect(
                    self.url,
                    subprotocols=["molam.jwt", self.tokens[i]],  # type: ignore[list-item]
                    open_timeout=60,
                    max_size=2**22,
                    compression=self.compression,
                )
            async with ws:
                async for raw in ws:
                    self._frame(i, raw)
        except Exception as exc:  # reported, and the run fails
            self.closed.append(f"client {i}: {exc!r}")
            self.first[i].set()

    def _frame(self, i: int, raw: str | bytes) -> None:
        now = time.monotonic()
        self.frames += 1
        self.first[i].set()
        if self.expected is None or self.seen[i] is not None:
            return
        if self._paused(raw if isinstance(raw, str) else raw.decode()) is self.expected:
            self.seen[i] = now
            self.missing -= 1
            if not self.missing:
                self.all_seen.set()

    def _paused(self, text: str) -> bool:
        """The bank's ``paused`` in a summary frame. Read from the text (the
        server writes a bank's ``id`` before its ``paused``) rather than by
        decoding 6 kB per frame: 1,000 decodes per action on the server's own
        cores would measure this client more than the server."""
        at = text.find(self.bank_key)
        flag = text.find('"paused": ', at) if at >= 0 else -1
        if flag < 0:  # not the layout expected: decode it
            banks = json.loads(text)["summary"]["banks"]
            return bool(next(b["paused"] for b in banks if b["id"] == self.bank))
        return text.startswith("true", flag + len('"paused": '))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def post_action(port: int, token: str, action: str, bank: str) -> tuple[float, float]:
    """POST one action; (sent, response) monotonic times."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    body = json.dumps({"bank_profile_id": bank, "reason": "bench fan-out"})
    sent = time.monotonic()
    status, _h, text = request(port, "POST", f"/api/ops/{action}", body, headers)
    done = time.monotonic()
    if status != 200:
        raise BenchError(f"{action} answered {status}: {text[:300]}")
    return sent, done


async def run_actions(
    args: argparse.Namespace, server: Server, tokens: list[str], admin: str, bank: str
) -> dict[str, list[float]]:
    url = f"ws://127.0.0.1:{server.port}/ws/kpis/"
    compression = None if args.compression == "none" else args.compression
    clients = Clients(url, tokens, bank, compression)
    started = time.monotonic()
    await clients.open()
    if clients.closed:
        raise BenchError(
            f"{len(clients.closed)} sockets failed: {clients.closed[:3]}\n"
            f"{server.log_tail(30)}"
        )
    print(
        f"  {len(tokens)} sockets open with their first summary "
        f"in {time.monotonic() - started:.1f}s",
        flush=True,
    )
    loop = asyncio.get_running_loop()
    found: dict[str, list[float]] = {
        "from_200": [],
        "from_request": [],
        "post": [],
        "first": [],
    }
    paused = False
    try:
        for n in range(args.actions):
            await asyncio.sleep(args.pause)
            paused = not paused
            clients.expect(paused)
            action = "pause-bank" if paused else "resume-bank"
            sent, done = await loop.run_in_executor(
                None, post_action, server.port, admin, action, bank
            )
            try:
                await asyncio.wait_for(clients.all_seen.wait(), args.timeout)
            except TimeoutError as exc:
                raise BenchError(
                    f"action {n + 1}: {clients.missing} sockets still without "
                    f"the change after {args.timeout}s\n{server.log_tail(20)}"
                ) from exc
            last = max(s for s in clients.seen if s is not None)
            first = min(s for s in clients.seen if s is not None)
            found["first"].append(max(0.0, first - done) * 1000)
            found["from_200"].append(max(0.0, last - done) * 1000)
            found["from_request"].append((last - sent) * 1000)
            found["post"].append((done - sent) * 1000)
            print(
                f"  {n + 1:3d} {action:12} POST {found['post'][-1]:7.1f} ms, "
                f"first socket +{found['first'][-1]:6.1f} ms, "
                f"last +{found['from_200'][-1]:7.1f} ms after the 200",
                flush=True,
            )
        if clients.closed:
            raise BenchError(f"sockets closed: {clients.closed[:3]}")
    finally:
        await clients.close()
    found["frames"] = [float(clients.frames)]
    return found


def make_tokens(run: Run, count: int) -> tuple[list[str], str]:
    """One token per socket (operators of every role), and the actor's."""
    sockets = [run.token(f"bench-ws-{i:04d}", ROLES[i % 3]) for i in range(count)]
    return sockets, run.token("bench-ws-actor")


def target_bank() -> str:
    """A demo bank, resumed (a kept database may have it paused)."""
    from payouts.models import BankProfile

    bank = str(BankProfile.objects.order_by("code").values_list("id", flat=True)[0])
    resume_paused([bank])
    return bank


def report(args: argparse.Namespace, found: dict[str, Any]) -> bool:
    effects, post = found["from_200"], found["post"]
    p50, p99 = percentile(effects, 50), percentile(effects, 99)
    print(f"sockets: {args.clients}, actions: {len(effects)}, ")
    print(f"frames received: {found['frames'][0]:.0f}")
    print(
        f"POST pause/resume-bank: p50 {percentile(post, 50):.1f} ms, "
        f"p99 {percentile(post, 99):.1f} ms"
    )
    first = found["first"]
    print(
        f"from the 200 to the FIRST socket: p50 {percentile(first, 50):.1f} ms, "
        f"p99 {percentile(first, 99):.1f} ms"
    )
    request = found["from_request"]
    print(
        f"from sending the POST to the last socket: p50 "
        f"{percentile(request, 50):.1f} ms, p99 {percentile(request, 99):.1f} ms"
    )
    print(
        f"from the 200 to the last socket: p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(effects):.1f} ms, mean {statistics.fmean(effects):.1f} ms"
    )
    print()
    return verdict("fan-out p99", p99, TARGET_P99_MS, "<=", " ms")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.actions < 20 or args.clients < 1:
        raise BenchError("--actions >= 20 and --clients >= 1")
    if not args.redis_url:
        raise BenchError("the fan-out runs over Redis, as in production: --redis-url")
    raise_fd_limit(args.clients)
    with bench_run(args, name="ws") as run:
        seed_payouts(args.payouts, days=args.days)
        bank = target_bank()
        tokens, admin = make_tokens(run, args.clients)
        with run.server("ws") as server:
            try:
                found = asyncio.run(run_actions(args, server, tokens, admin, bank))
            except BenchError as exc:
                raise BenchError(f"{exc}\nserver log:\n{server.log_tail(30)}") from exc
    run.header(repeat_command("ws_fanout", repeat_flags(args)))
    ok = report(args, found)
    return 2 if args.strict and not ok else 0


def repeat_flags(args: argparse.Namespace) -> list[str]:
    return [
        f"--clients {args.clients}",
        f"--actions {args.actions}",
        f"--payouts {args.payouts}",
        f"--days {args.days}",
        f"--pause {args.pause}",
        f"--timeout {args.timeout}",
        f"--compression {args.compression}",
        *server_flags(args),
    ]


if __name__ == "__main__":
    main_entry(main)
