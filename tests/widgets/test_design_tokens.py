"""The dashboard looks like the React and React Native widgets: its CSS
(dashboard.css, the shared stylesheet in base.js and the elements' own
rules) names the colours of the one source of design tokens,
clients/widgets-react/src/tokens.json, light and dark, and its type."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "widgets" / "static" / "widgets"
TOKENS = ROOT / "clients" / "widgets-react" / "src" / "tokens.json"
DARK = "@media (prefers-color-scheme: dark)"

# The dashboard's CSS variables and the token each one carries.
PAGE_VARS = {
    "--bg": "background",
    "--fg": "foreground",
    "--muted": "muted",
    "--card": "card",
    "--border": "border",
}
WIDGET_VARS = {
    "--molam-fg": "foreground",
    "--molam-muted": "muted",
    "--molam-card": "card",
    "--molam-border": "border",
    "--molam-primary": "primary",
    "--molam-danger": "danger",
    "--molam-focus": "focus",
    "--molam-on-accent": "onAccent",
    "--molam-skel": "skeleton",
    "--molam-skel-hi": "skeletonHighlight",
    "--molam-red-bg": "errorBackground",
    "--molam-red-fg": "errorForeground",
    "--molam-green-bg": "okBackground",
    "--molam-green-fg": "okForeground",
    "--molam-yellow-bg": "waitBackground",
    "--molam-yellow-fg": "waitForeground",
    "--molam-info-bg": "infoBackground",
    "--molam-info-fg": "infoForeground",
}
DECLARATION = re.compile(r"(--[\w-]+)\s*:\s*([^;}]+)")
FALLBACK = re.compile(r"var\((--molam-[\w-]+),\s*(#[0-9a-fA-F]{3,8})\)")


@cache
def tokens() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TOKENS.read_text(encoding="utf-8"))
    return data


def block(css: str, start: int) -> str:
    """The text between the brace opening at or after ``start`` and its match."""
    opening = css.index("{", start)
    depth = 0
    for i in range(opening, len(css)):
        depth += {"{": 1, "}": -1}.get(css[i], 0)
        if depth == 0:
            return css[opening + 1 : i]
    raise AssertionError("unbalanced braces")


def declarations(css: str) -> dict[str, str]:
    return {name: value.strip().lower() for name, value in DECLARATION.findall(css)}


def dashboard_roots() -> dict[str, dict[str, str]]:
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    dark = block(css, css.index(DARK))
    return {
        "light": declarations(block(css, css.index(":root"))),
        "dark": declarations(block(dark, dark.index(":root"))),
    }


def shared_stylesheet() -> tuple[str, str]:
    """base.js's stylesheet, split into its light rules and its dark block."""
    source = (STATIC / "base.js").read_text(encoding="utf-8")
    start = source.index("const CSS = `")
    css = source[start : source.index("`;", start)]
    dark_at = css.index(DARK)
    return css[:dark_at], block(css, dark_at)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_dashboard_variables_are_the_tokens(scheme: str) -> None:
    palette = tokens()["colors"][scheme]
    root = dashboard_roots()[scheme]
    carried = {**PAGE_VARS, **WIDGET_VARS}
    declared = {name: root[name] for name in carried if name in root}
    assert declared == {name: palette[carried[name]].lower() for name in declared}
    # every colour of the tokens reaches the dashboard's widgets
    assert {carried[name] for name in declared} == set(palette)


def test_the_tokens_name_the_same_colours_in_both_schemes() -> None:
    colors = tokens()["colors"]
    assert set(colors) == {"light", "dark"}
    assert set(colors["light"]) == set(colors["dark"])
    for palette in colors.values():
        assert all(re.fullmatch(r"#[0-9a-f]{6}", value) for value in palette.values())


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_base_js_fallbacks_are_the_tokens(scheme: str) -> None:
    light, dark = shared_stylesheet()
    css = light if scheme == "light" else dark
    palette = tokens()["colors"][scheme]
    found = FALLBACK.findall(css)
    assert found, "the shared stylesheet names no --molam-* colour"
    wrong = [
        (name, value)
        for name, value in found
        if value.lower() != palette[WIDGET_VARS[name]].lower()
    ]
    assert wrong == []


def test_elements_fallbacks_are_the_light_tokens() -> None:
    palette = tokens()["colors"]["light"]
    wrong = []
    for path in [*sorted((STATIC / "elements").glob("*.js")), STATIC / "plan-view.js"]:
        for name, value in FALLBACK.findall(path.read_text(encoding="utf-8")):
            if value.lower() != palette[WIDGET_VARS[name]].lower():
                wrong.append((path.name, name, value))
    assert wrong == []


def test_dashboard_type_is_the_tokens() -> None:
    css = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    root = block(css, css.index(":root"))
    typography = tokens()["typography"]
    family = re.search(r"font-family:\s*([^;]+);", root)
    height = re.search(r"line-height:\s*([^;]+);", root)
    assert family and family.group(1).strip() == typography["fontFamily"]
    assert height and float(height.group(1)) == typography["lineHeight"]


def test_every_widget_variable_is_known() -> None:
    """A --molam-* colour the mapping above does not know would go unchecked."""
    used: set[str] = set()
    elements = STATIC.glob("elements/*.js")
    for path in [STATIC / "base.js", STATIC / "dashboard.css", *elements]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"(--molam-[\w-]+)", text))
    assert used <= set(WIDGET_VARS)
