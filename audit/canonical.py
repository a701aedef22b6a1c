"""The values an audit row stores, chosen so that what the database gives
back is exactly what was hashed (DESIGN §3, audit/chain.py).

A JSON column does not keep every number it is given. PostgreSQL's jsonb
holds numbers as ``numeric``: ``1e16`` (Python writes ``1e+16``) comes back
as the integer ``10000000000000000``, ``-0.0`` as ``0.0``; and RFC 8785, the
hash's canonical form, has no integer beyond ±(2^53 - 1) nor any non-finite
number. So ``storable`` keeps as numbers only those every side reads back as
the same IEEE double: integers within ±(2^53 - 1) and finite floats with
|x| < 2^53 (Python writes those in plain notation with a fraction, ``0.1``,
``1e-07``, ``123.0``, which jsonb keeps as decimal and gives back as the same
float; SQLite's JSON text is Python's own round trip). Every other number
becomes the string Python's ``json`` module writes for it:

* an integer: its decimal digits (``2**63`` → ``"9223372036854775808"``);
* a float: its shortest round-tripping text, as ``repr`` (``1e16`` →
  ``"1e+16"``, ``2.0**53`` → ``"9007199254740992.0"``, ``1.5e300`` →
  ``"1.5e+300"``), so ``float(text)`` is the value exactly;
* a non-finite float: ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

``-0.0`` is stored as ``0.0`` (jsonb has no negative zero). Values JSON has no
type for are written as ``DjangoJSONEncoder`` writes them (``Decimal`` and
``UUID`` as ``str``, a datetime as ECMA-262 text), tuples as lists, dict keys
as ``json`` converts them (``1`` → ``"1"``, ``True`` → ``"true"``). A string
is kept, except U+0000 and lone surrogates (neither storable in jsonb nor
encodable as UTF-8 for the hash), which become U+FFFD: the request parser
already refuses bodies holding them, so only internal callers could pass them.
"""

from __future__ import annotations

import ipaddress
import json
import math
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from molam_ops.lib.parsers import UNSTORABLE

MAX_SAFE_INTEGER = 2**53 - 1
_FLOAT_LIMIT = 2.0**53
_ENCODER = DjangoJSONEncoder()


def storable(value: Any) -> Any:
    """``value`` as an audit row stores and hashes it (see the module's
    docstring); one walk over the payload. Raises ``TypeError`` for a value
    JSON cannot carry, as ``json.dumps`` does."""
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        n = int(value)  # an IntEnum member as the plain int
        return n if -MAX_SAFE_INTEGER <= n <= MAX_SAFE_INTEGER else str(n)
    if isinstance(value, float):
        x = float(value)
        if math.isfinite(x) and abs(x) < _FLOAT_LIMIT:
            return x if x else 0.0
        return json.dumps(x)
    if isinstance(value, dict):
        return {_key(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return storable(_ENCODER.default(value))


def _text(value: str) -> str:
    # str.__str__ turns a subclass (a TextChoices member) into a plain str
    text = str.__str__(value)
    return UNSTORABLE.sub("\ufffd", text) if UNSTORABLE.search(text) else text


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _text(key)
    if key is None or isinstance(key, bool | int | float):
        # the key json.dumps writes: "1", "1.5", "true", "null"
        return str(json.loads(json.dumps({key: 0})).popitem()[0])
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key)}")


def inet_text(text: str) -> str:
    """An address as PostgreSQL's ``inet`` type writes it back: like Python,
    except that an IPv4-mapped IPv6 address, or one whose first 96 bits are
    zero and whose 7th group is not, ends in dotted IPv4 (``::ffff:1.2.3.4``,
    ``::1.2.3.4``; but ``::2``). Text that is no address is left for the database to
    refuse."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id is None:
        n = int(addr)
        high = n >> 32
        if (high == 0 and n >> 16) or high == 0xFFFF:
            prefix = "::ffff:" if high else "::"
            return prefix + str(ipaddress.IPv4Address(n & 0xFFFFFFFF))
    return str(addr)
