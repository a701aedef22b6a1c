"""The bytes of an export, page by page: one encoder for the streamed
response (audit/api/views.py) and for the job that writes a file
(audit/jobs.py), so both give the same text for the same rows."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from audit.serializers import EXPORT_FIELDS

FORMATS = ("csv", "json")
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}

# A cell a spreadsheet would read as a formula is prefixed with a quote:
# user_agent and actor_id come from callers (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class Encoder:
    """``start()``, then ``page(rows)`` for each page of ``audit_row`` dicts,
    then ``end()``; the concatenation is the whole document."""

    def start(self) -> str:
        raise NotImplementedError

    def page(self, rows: list[dict[str, Any]]) -> str:
        raise NotImplementedError

    def end(self) -> str:
        raise NotImplementedError

    def resume(self, *, wrote_rows: bool) -> None:
        """Go on with a document whose start (and some rows) another
        encoder wrote: a job's next part."""


class CsvEncoder(Encoder):
    def __init__(self) -> None:
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf)

    def _take(self) -> str:
        text = self.buf.getvalue()
        self.buf.seek(0)
        self.buf.truncate()
        return text

    def start(self) -> str:
        self.writer.writerow(EXPORT_FIELDS)
        return self._take()

    def page(self, rows: list[dict[str, Any]]) -> str:
        for row in rows:
            self.writer.writerow([_cell(row[f]) for f in EXPORT_FIELDS])
        return self._take()

    def end(self) -> str:
        return ""


class JsonArrayEncoder(Encoder):
    def __init__(self) -> None:
        self.first = True

    def resume(self, *, wrote_rows: bool) -> None:
        self.first = not wrote_rows

    def start(self) -> str:
        return "["

    def page(self, rows: list[dict[str, Any]]) -> str:
        if not rows:
            return ""
        text = ",".join(json.dumps(row, sort_keys=True) for row in rows)
        sep = "" if self.first else ","
        self.first = False
        return sep + text

    def end(self) -> str:
        return "]"


def encoder(fmt: str) -> Encoder:
    return CsvEncoder() if fmt == "csv" else JsonArrayEncoder()
