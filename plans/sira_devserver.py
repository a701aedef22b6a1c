"""A stand-in for SIRA, for the tests and for trying SIRA mode locally.

    python -m plans.sira_devserver --port 8085 [--host 127.0.0.1]
        [--mode good|bare|slow|error|garbage|schema] [--slow-seconds 30]
        [--shape ids|seed]
        [--cert server.pem --key server.key [--client-ca ca.pem]]

``POST /api/plan`` answers a plan for the posted snapshot (a simple greedy
heuristic: it only has to be a valid, plausible answer), under ``"plan"``
(``good``) or bare (``bare``). The other modes misbehave as SIRA might:
``slow`` waits ``--slow-seconds`` before answering, ``error`` answers 503,
``garbage`` a 200 that is not JSON, ``schema`` a 200 JSON of the wrong shape.
A request may pick its own mode with the ``X-Sira-Mode`` header (and its delay
with ``X-Sira-Delay``), so one server serves every test. ``GET
/api/suggestions`` answers a couple of suggestions the same ways.

Reroute steps come in one of two shapes (``--shape``, or per request the
``X-Sira-Shape`` header): ``ids``, as the local planner writes them
(``from_bank_id``, ``to_bank_id``, ``currency``, ``amount``), or ``seed``,
the seed's own (``from_bank``/``to_bank`` by name, ``count``,
``estimated_savings``, ``currency``). A server made with ``answer=`` (tests)
answers that plan object, whatever it is asked, and one made with
``suggestions=`` those suggestions.

With ``--cert``/``--key`` it speaks HTTPS; with ``--client-ca`` as well it
requires a client certificate signed by that CA (mTLS). Standard library only:
no Django, no database.
"""

from __future__ import annotations

import argparse
import json
import logging
import ssl
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("good", "bare", "slow", "error", "garbage", "schema")
SHAPES = ("ids", "seed")
VERSION = "sira-devserver/1"
log = logging.getLogger("sira_devserver")


def _d(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)


def heuristic_plan(body: dict[str, Any], shape: str = "ids") -> dict[str, Any]:
    """A plausible plan: move each bank's pending payouts of a currency to the
    cheapest healthy bank serving it (routing, risk), or top up the lowest
    float account of each currency from the highest (float)."""
    plan_type = body.get("plan_type", "routing_optimization")
    snapshot = body.get("snapshot") or {}
    steps = (
        _float_steps(snapshot)
        if plan_type == "float_rebalance"
        else _routing_steps(snapshot)
    )
    total = sum(
        (_d(s.get("amount_usd", s.get("amount", 0))) for s in steps), Decimal(0)
    )
    if shape == "seed":
        steps = [_seed_step(s, snapshot) for s in steps]
    count = sum(int(s.get("count", 0)) for s in steps)
    return {
        "summary": f"SIRA dev server: {len(steps)} step(s) for {plan_type}",
        "steps": steps,
        "total_amount": str(total.quantize(Decimal("0.01"))),
        "payout_count": count,
        "approval_required": False,
        "currency": "USD",
        "planner_version": VERSION,
    }


def _routing_steps(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    banks = {str(b.get("id")): b for b in snapshot.get("banks", []) or []}
    healthy = [
        b
        for b in banks.values()
        if not b.get("paused")
        and b.get("circuit_state", "closed") != "open"
        and int(b.get("capacity", 1)) > 0
    ]
    steps = []
    rates = snapshot.get("usd_rates") or {}
    for group in snapshot.get("payout_classes", []) or []:
        source = str(group.get("bank_id"))
        currency = group.get("currency")
        serving = [b for b in healthy if currency in (b.get("currencies") or [])]
        if not serving:
            continue
        best = min(serving, key=lambda b: _d(b.get("fee_percent")))
        if str(best.get("id")) == source:
            continue
        steps.append(
            {
                "action": "reroute_payouts",
                "from_bank_id": source,
                "to_bank_id": str(best.get("id")),
                "currency": currency,
                "count": int(group.get("count", 0)),
                "amount": str(group.get("amount", "0")),
                "amount_min": group.get("amount_min"),
                "amount_max": group.get("amount_max"),
                "amount_usd": str(
                    (
                        _d(group.get("amount"))
                        * _d(rates.get(currency, 1 if currency == "USD" else 0))
                    ).quantize(Decimal("0.01"))
                ),
            }
        )
    return steps


def _seed_step(step: dict[str, Any], snapshot: dict[str, Any]) -> dict[str, Any]:
    """A reroute as the seed writes it: banks by name, with its savings (the
    fee difference on the step's USD value and per payout)."""
    if step["action"] != "reroute_payouts":
        return step
    banks = {str(b.get("id")): b for b in snapshot.get("banks", []) or []}
    source, destination = banks[step["from_bank_id"]], banks[step["to_bank_id"]]
    savings = _d(step["amount_usd"]) * (
        _d(source.get("fee_percent")) - _d(destination.get("fee_percent"))
    ) + step["count"] * (_d(source.get("fee_fixed")) - _d(destination.get("fee_fixed")))
    return {
        "action": "reroute_payouts",
        "from_bank": source.get("name"),
        "to_bank": destination.get("name"),
        "currency": step["currency"],
        "count": step["count"],
        "estimated_savings": float(savings.quantize(Decimal("0.01"))),
    }


def _float_steps(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    rates = {"USD": 1, **(snapshot.get("usd_rates") or {})}
    by_currency: dict[str, list[dict[str, Any]]] = {}
    for account in snapshot.get("accounts", []) or []:
        by_currency.setdefault(str(account.get("currency")), []).append(account)
    steps = []
    for currency, accounts in sorted(by_currency.items()):
        if len(accounts) < 2:
            continue
        low = min(accounts, key=lambda a: _d(a.get("balance")))
        high = max(accounts, key=lambda a: _d(a.get("balance")))
        moved = ((_d(high.get("balance")) - _d(low.get("balance"))) / 2).quantize(
            Decimal("0.01")
        )
        if moved > 0:
            steps.append(
                {
                    "action": "transfer_funds",
                    "from_account_id": str(high.get("id")),
                    "to_account_id": str(low.get("id")),
                    "currency": currency,
                    "amount": str(moved),
                    "amount_usd": str(
                        (moved * _d(rates.get(currency, 0))).quantize(Decimal("0.01"))
                    ),
                }
            )
    return steps


SUGGESTIONS = [
    {
        "id": "sira-routing-1",
        "title": "Optimise routing of pending payouts",
        "description": "Fees can drop by moving pending payouts to cheaper banks.",
        "confidence": "0.820",
        "action": {
            "action_type": "generate_plan",
            "payload": {
                "plan_params": {"type": "routing_optimization", "timeframe": "24h"}
            },
        },
    },
]


class SiraHandler(BaseHTTPRequestHandler):
    server: SiraServer
    protocol_version = "HTTP/1.1"
    server_version = VERSION

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _mode(self) -> str:
        mode = self.headers.get("X-Sira-Mode") or self.server.mode
        return mode if mode in MODES else "good"

    def _shape(self) -> str:
        shape = self.headers.get("X-Sira-Shape") or self.server.shape
        return shape if shape in SHAPES else "ids"

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _answer(self, good: Any, bare: Any) -> None:
        """Reply as the mode says; ``good`` is the well-formed answer."""
        mode = self._mode()
        self.server.record(self.command, self.path, mode)
        if mode == "slow":
            delay = float(self.headers.get("X-Sira-Delay") or self.server.slow_seconds)
            if self.server.stopping.wait(delay):
                return
            mode = "good"
        if mode == "error":
            self._json(503, {"error": "SIRA dev server: simulated outage"})
        elif mode == "garbage":
            self._send(200, b"<html>\x00 not json", "text/html")
        elif mode == "schema":
            self._json(200, {"plan": {"summary": 42, "steps": "none"}, "items": [1]})
        elif mode == "bare":
            self._json(200, bare)
        else:
            self._json(200, good)

    def do_POST(self) -> None:
        if self.path != "/api/plan":
            self._json(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": "the body is not JSON"})
            return
        plan = self.server.answer or heuristic_plan(
            body if isinstance(body, dict) else {}, self._shape()
        )
        self._answer({"plan": plan}, plan)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._json(200, {"ok": True})
        elif self.path == "/api/suggestions":
            items = self.server.suggestions
            self._answer({"suggestions": items}, items)
        else:
            self._json(404, {"error": "not found"})


class SiraServer(ThreadingHTTPServer):
    """The server, with the TLS handshake done in each request's thread (a
    client that never completes it holds up only its own thread)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        mode: str = "good",
        slow_seconds: float = 30.0,
        tls: ssl.SSLContext | None = None,
        shape: str = "ids",
        answer: dict[str, Any] | None = None,
        suggestions: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(address, SiraHandler)
        self.mode = mode
        self.shape = shape
        self.answer = answer
        self.suggestions = SUGGESTIONS if suggestions is None else suggestions
        self.slow_seconds = slow_seconds
        self.tls = tls
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, mode: str) -> None:
        with self._lock:
            self.requests.append((method, path, mode))

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(30)  # a stalled handshake must not hold a thread
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("TLS handshake with %s refused: %s", client_address, exc)
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (timed out) before a slow answer: expected here
        log.info("connection from %s ended early", client_address, exc_info=True)

    def shutdown(self) -> None:
        self.stopping.set()
        super().shutdown()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows it; TCP servers give str
            host = host.decode()
        return f"{'https' if self.tls else 'http'}://{host}:{port}"


def server_tls(cert: str, key: str, client_ca: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    return context


def serve_in_thread(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> tuple[SiraServer, threading.Thread]:
    """Start a server on a free port (``port=0``) in a daemon thread; stop it
    with ``server.shutdown(); server.server_close()``."""
    server = SiraServer((host, port), **options)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # all interfaces by default: in docker compose the worker reaches it as
    # sira:8085; pass --host 127.0.0.1 to keep it on this machine
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--mode", choices=MODES, default="good")
    parser.add_argument("--slow-seconds", type=float, default=30.0)
    parser.add_argument(
        "--shape", choices=SHAPES, default="ids", help="how reroute steps name banks"
    )
    parser.add_argument("--cert", help="server certificate (PEM): serve HTTPS")
    parser.add_argument("--key", help="the server certificate's private key (PEM)")
    parser.add_argument("--client-ca", help="require client certificates from this CA")
    args = parser.parse_args(argv)
    if bool(args.cert) != bool(args.key) or (args.client_ca and not args.cert):
        parser.error("--cert and --key go together; --client-ca needs them")
    tls = server_tls(args.cert, args.key, args.client_ca) if args.cert else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = SiraServer(
        (args.host, args.port),
        mode=args.mode,
        slow_seconds=args.slow_seconds,
        tls=tls,
        shape=args.shape,
    )
    log.info("SIRA dev server (%s, %s) on %s", args.mode, args.shape, server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
