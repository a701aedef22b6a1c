"""locale/: every string of the code is in the French catalogues, translated,
and the committed .mo files are compiled from the .po files beside them."""

from __future__ import annotations

import gettext
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def entries(po: Path) -> list[tuple[str, str, str]]:
    """(references, msgid, msgstr) of each entry but the header; a msgid with
    a context (pgettext) is ``context\x04msgid``, as gettext stores it."""
    out = []
    for block in po.read_text(encoding="utf-8").split("\n\n")[1:]:
        if "msgid_plural" in block or block.lstrip().startswith("#~"):
            continue

        def text(key: str, block: str = block) -> str:
            match = re.search(rf'^{key} ((?:".*"\n?)+)', block, re.M)
            parts = re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1) if match else "")
            return (
                "".join(parts)
                .encode()
                .decode("unicode_escape")
                .encode("latin1")
                .decode()
            )

        refs = " ".join(re.findall(r"^#: (.*)$", block, re.M))
        if "#, fuzzy" in block:
            refs += " FUZZY"
        context = text("msgctxt")
        msgid = f"{context}\x04{text('msgid')}" if context else text("msgid")
        out.append((refs, msgid, text("msgstr")))
    return out


# what the widgets show: their templates and elements, and the suggestion
# texts the suggestions bubble reads from the API
SHOWN = ("widgets/", "plans/services/suggestion_texts.py")


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_widget_strings_are_in_french(domain: str) -> None:
    missing = [
        msgid
        for refs, msgid, msgstr in entries(
            LOCALE / "fr" / "LC_MESSAGES" / f"{domain}.po"
        )
        if (any(where in refs for where in SHOWN) or domain == "djangojs")
        and (not msgstr or "FUZZY" in refs)
    ]
    assert missing == []


def test_the_french_catalogue_has_no_empty_translation() -> None:
    # API error messages too (issue 5: every UI string and error message)
    for domain in ("django", "djangojs"):
        po = LOCALE / "fr" / "LC_MESSAGES" / f"{domain}.po"
        assert [m for _r, m, s in entries(po) if not s] == [], domain


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_mo_matches_po(lang: str, domain: str) -> None:
    base = LOCALE / lang / "LC_MESSAGES"
    with (base / f"{domain}.mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for refs, msgid, msgstr in entries(base / f"{domain}.po"):
        if msgstr and "FUZZY" not in refs:
            assert compiled.gettext(msgid) == msgstr, msgid


def test_the_catalogues_hold_every_string_of_the_code(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makemessages over the code finds no string the French catalogues lack:
    a new message cannot ship in English only. It runs in a mirror of the
    project (the code linked, locale/ copied), so the real catalogues are
    never written."""
    root = LOCALE.parent
    for entry in root.iterdir():
        if entry.name.startswith(".") or entry.name in SKIPPED:
            continue
        (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(LOCALE, tmp_path / "locale")
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    for domain in ("django", "djangojs"):
        call_command(
            "makemessages",
            locale=["fr"],
            domain=domain,
            symlinks=True,
            no_obsolete=True,
            verbosity=0,
        )
        po = tmp_path / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po"
        untranslated = [m for refs, m, s in entries(po) if not s or "FUZZY" in refs]
        assert untranslated == [], domain


# not the product's messages; var/ holds what `make run` collected (Django
# admin's own scripts, translated by Django) and its data
SKIPPED = {"locale", "tests", "benchmarks", "clients", "node_modules", "var"}
