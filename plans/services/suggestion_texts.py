"""The human text of suggestions, in every UI language.

Suggestions are stored with one title and description per language
(django-modeltranslation, ``plans/translation.py``). SIRA's text is the
default language's and the others fall back to it; the local heuristics
build theirs from the catalogues, once per language, so what is stored does
not depend on the language of the request that happened to refresh it, and
the API shows each caller its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _
from modeltranslation import settings as mt_settings

from payouts import health
from plans.choices import PlanType

LANGUAGES: tuple[str, ...] = tuple(mt_settings.AVAILABLE_LANGUAGES)
DEFAULT_LANGUAGE: str = mt_settings.DEFAULT_LANGUAGE
# the modeltranslation columns: title_en, title_fr, description_en, …
TEXT_FIELDS: tuple[str, ...] = tuple(
    f"{name}_{lang}" for name in ("title", "description") for lang in LANGUAGES
)

Texts = str | Mapping[str, str]


def in_every_language(build: Callable[..., Any], *args: Any) -> dict[str, str]:
    """What ``build(*args)`` writes in each UI language: its gettext calls and
    a bank's translated name follow the language active while it runs."""
    out = {}
    for lang in LANGUAGES:
        with translation.override(lang):
            out[lang] = str(build(*args))
    return out


def in_default_language(build: Callable[..., Any], *args: Any) -> str:
    """Text that ends up in an action's payload (an audited reason): one
    language, the default, not the refreshing request's."""
    with translation.override(DEFAULT_LANGUAGE):
        return str(build(*args))


def per_language(name: str, texts: Texts, limit: int | None) -> dict[str, Any]:
    """``{name}_{lang}`` for each language; plain text is the default
    language's, and a language without text is None (it falls back)."""
    by_lang = {DEFAULT_LANGUAGE: texts} if isinstance(texts, str) else dict(texts)
    return {
        f"{name}_{lang}": (by_lang.get(lang) or "")[:limit] or None
        for lang in LANGUAGES
    }


def pct(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.1')).normalize():f}"


# --- banks (run under in_every_language / in_default_language) -----------------


def pause_why(failure: Decimal, is_open: bool) -> str:
    why = _("failure rate %(rate)s%%") % {"rate": pct(failure)}
    if is_open:
        why = _("circuit open, %(why)s") % {"why": why}
    return str(why)


def pause_title(bank: Any, failure: Decimal, is_open: bool) -> str:
    return _("Pause bank %(name)s: %(why)s") % {
        "name": bank.name,  # the active language's name (modeltranslation)
        "why": pause_why(failure, is_open),
    }


def pause_description(bank: Any, success: Decimal) -> str:
    return _(
        "%(name)s succeeds on %(ok)s%% of recent payouts "
        "(threshold %(min)s%%); pausing it holds new "
        "payouts until it recovers."
    ) % {
        "name": bank.name,
        "ok": pct(success),
        "min": pct(health.YELLOW_MIN_SUCCESS),
    }


def pause_reason(failure: Decimal, is_open: bool) -> str:
    return _("Suggested: %(why)s") % {"why": pause_why(failure, is_open)}


def resume_title(bank: Any) -> str:
    return _("Resume bank %(name)s") % {"name": bank.name}


def resume_description(bank: Any, success: Decimal) -> str:
    return _("%(name)s is paused but succeeds on %(ok)s%% of payouts.") % {
        "name": bank.name,
        "ok": pct(success),
    }


def resume_reason() -> str:
    return str(_("Suggested: the bank has recovered"))


# --- the local planner ----------------------------------------------------------

# (title, description): the description is built from the planner's figures
# rather than its summary, which is English only
PLANNER_TEXTS = {
    PlanType.FLOAT_REBALANCE: (
        _("Rebalance %(what)s float"),
        _(
            "The local planner moves %(total)s USD in %(steps)s transfer(s) so "
            "that every float account covers its forecast outflow, for "
            "%(fees)s USD in fees."
        ),
    ),
    PlanType.ROUTING_OPTIMIZATION: (
        _("Reroute pending payouts to cheaper banks (%(what)s)"),
        _(
            "The local planner reroutes %(payouts)s pending payout(s) worth "
            "%(total)s USD in %(steps)s step(s): fees go from %(before)s to "
            "%(fees)s USD."
        ),
    ),
}


def _amount(value: Decimal) -> str:
    return formats.number_format(value, 2, use_l10n=True, force_grouping=True)


def planner_text(template: Any, result: Any, what: str) -> str:
    """A ``PLANNER_TEXTS`` template filled with a planner result's figures,
    numbers formatted for the active language."""
    return template % {
        "what": what,
        "steps": formats.number_format(len(result.steps), use_l10n=True),
        "payouts": formats.number_format(result.payout_count, use_l10n=True),
        "total": _amount(result.total_amount),
        "before": _amount(result.estimated_cost_before),
        "fees": _amount(result.estimated_cost_after),
    }
