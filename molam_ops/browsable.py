"""The browsable API, with an ``Idempotency-Key`` for its forms (DESIGN §5:
every state-changing POST needs one).

Each load of a page gets a key of its own, in the page
(``<meta name="idempotency-key">``), and ``molam_ops/browsable-api.js`` sends
it with every form the page posts. DRF's forms post through jQuery and then
write the answer over the page without loading a new one: that page keeps
the key it posted with, and its form the body it posted, so submitting it
again replays the first answer (``Idempotent-Replayed: true``) instead of
acting twice. Reloading the page (a new load) gives a new key: a new intent.
A key cannot be an inline script, which the Content-Security-Policy forbids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request

from molam_ops.actions.idempotency import MAX_KEY_LENGTH


def page_key(request: Request) -> str:
    """The key the page's forms post with: the one this POST was sent with
    (the page showing its answer), else a new one (a new load)."""
    sent = (
        request.headers.get("Idempotency-Key", "") if request.method == "POST" else ""
    )
    return sent if 0 < len(sent) <= MAX_KEY_LENGTH else uuid.uuid4().hex


def posted_body(request: Request) -> str | None:
    """The JSON body a POST sent, for its page's form to send again."""
    try:
        data = request.data
    except exceptions.APIException:  # a body it could not read: an empty form
        return None
    if isinstance(data, QueryDict) or not isinstance(data, dict | list):
        return None
    return json.dumps(data, indent=4, ensure_ascii=False)


class OpsBrowsableAPIRenderer(BrowsableAPIRenderer):
    template = "molam_ops/browsable_api.html"

    def get_context(
        self,
        data: Any,
        accepted_media_type: str | None,
        renderer_context: Mapping[str, Any],
    ) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context(
            data, accepted_media_type, renderer_context
        )
        request = renderer_context["request"]
        context["idempotency_key"] = page_key(request)
        form = context.get("raw_data_post_form")
        if request.method == "POST" and form is not None:
            body = posted_body(request)
            if body is not None:
                form.initial["_content"] = body
        return context
