"""Client addresses behind proxies, and the CIDR lists that configure them.

Standard library only: ``settings.py`` parses ``OPS_IP_ALLOWLIST`` and
``TRUSTED_PROXIES`` with it while Django is still being configured, and the
processes that serve the app (``gunicorn.conf.py``, ``scripts/run_local.py``)
hand the same ``TRUSTED_PROXIES`` to the ASGI server before Django exists.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(name: str, raw: str) -> list[str]:
    """Comma-separated CIDRs (a bare address is one host) → normalized strings.

    Host bits set (``10.0.0.1/8``) are refused rather than silently widened:
    such a value is a typo, and guessing would open or close the wrong range.
    The ``ValueError`` is one line naming the variable and the bad item.
    """
    out = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=True)))
        except ValueError as exc:
            raise ValueError(f"{name}: {item!r} is not an IP network ({exc})") from None
    return out


def forwarded_allow_ips(environ: Mapping[str, str]) -> str:
    """``TRUSTED_PROXIES`` as the ASGI server's ``forwarded_allow_ips``: the
    same CIDRs Django believes, comma-separated; ``""`` when none.

    uvicorn (alone or as gunicorn's worker) rewrites the request's client
    address and scheme from ``X-Forwarded-For`` / ``X-Forwarded-Proto`` when
    the peer is in that list, before Django sees the request; its own default
    (``$FORWARDED_ALLOW_IPS`` or ``127.0.0.1,::1``) would believe any local
    process. Raises the one-line ``ValueError`` of :func:`parse_networks`.
    """
    return ",".join(
        parse_networks("TRUSTED_PROXIES", environ.get("TRUSTED_PROXIES", ""))
    )


@lru_cache(maxsize=64)
def networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def parse_address(text: str) -> Address | None:
    """An address as a peer or a proxy writes it; ``None`` if it is not one."""
    text = text.strip()
    # some proxies append the port: "[2001:db8::1]:443", "203.0.113.7:5100";
    # anything else around the address ("[::1", "203.0.113.7:x") is garbage
    if text.startswith("["):
        text, bracket, port = text[1:].partition("]")
        if not bracket or (port and not (port[0] == ":" and port[1:].isdigit())):
            return None
    elif text.count(":") == 1:
        text, _colon, port = text.partition(":")
        if not port.isdigit():
            return None
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; the lists say a.b.c.d
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return addr.ipv4_mapped
    return addr


def in_networks(addr: Address, nets: Sequence[Network]) -> bool:
    return any(addr in net for net in nets)


def client_address(
    remote_addr: str, forwarded_for: str, trusted: Sequence[Network]
) -> Address | None:
    """The caller's address.

    ``X-Forwarded-For`` is believed only when the peer is a trusted proxy.
    Each proxy appends the address it received the request from, so walking
    from the right, the first hop that is not a trusted proxy is the client;
    everything left of it was written by the client and may be forged. If all
    hops are trusted proxies, the left-most one is the client.

    ``None`` (unknown) when a trusted proxy's chain holds something that is
    not an address, or when the peer is not one: behind uvicorn, whose proxy
    handling (given the same ``TRUSTED_PROXIES``) already put a trusted
    proxy's unparseable ``X-Forwarded-For`` in the peer's place. Unknown is
    never guessed into the proxy's own address: that one may well be inside
    ``OPS_IP_ALLOWLIST``.
    """
    peer = parse_address(remote_addr)
    if peer is None or not in_networks(peer, trusted):
        return peer
    client = peer
    hops = [h for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        addr = parse_address(hop)
        if addr is None:
            return None
        client = addr
        if not in_networks(addr, trusted):
            break
    return client
