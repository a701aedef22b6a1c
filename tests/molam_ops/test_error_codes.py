"""Every error ``code`` the source can answer is in the OpenAPI enum
(molam_ops/error_codes.py), and the enum holds no code nothing answers.

The suite also checks every answer it gets against the document
(tests/schema_check.py); this catches the codes no test provokes."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from molam_ops import errors
from molam_ops.error_codes import ERROR_CODES
from tests.schema_check import openapi_document

ROOT = Path(__file__).resolve().parents[2]
APPS = ("molam_ops", "audit", "controls", "payouts", "approvals", "plans", "widgets")
# the callables whose first argument is an answered error code
RAISERS = {"OpsError", "error_body"}


def _sources() -> Iterator[Path]:
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _called(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level ``NAME = "text"`` of the product (a code kept in a
    constant, e.g. ``BLOCKED_BY_CONTROL``)."""
    return {
        target.id: node.value.value
        for tree in trees.values()
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def literal_codes() -> dict[str, str]:
    """Code → where it is first written, for every first argument of
    ``OpsError(...)`` or ``error_body(...)`` in the product that is a string
    or a module constant holding one."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in _sources()}
    constants = _constants(trees)
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called(node) in RAISERS):
                continue
            first = node.args[0] if node.args else None
            code = None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                code = first.value
            elif isinstance(first, ast.Name):
                code = constants.get(first.id)
            if code is not None:
                found.setdefault(code, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_scan_sees_the_codes_it_must() -> None:
    codes = literal_codes()
    # one from the kernel, one from an app, one rendered without OpsError
    assert {
        "idempotency_key_reused",
        "bank_already_paused",
        "internal_error",
        "blocked_by_control",  # through a constant
    } <= set(codes)


def test_every_answered_code_is_in_the_enum() -> None:
    answered = {
        **literal_codes(),
        **dict.fromkeys(errors._CODES.values(), "molam_ops/errors.py"),
    }
    missing = {
        code: where for code, where in answered.items() if code not in ERROR_CODES
    }
    assert not missing, f"add these codes to molam_ops/error_codes.py: {missing}"


def test_the_enum_lists_only_answered_codes() -> None:
    answered = set(literal_codes()) | set(errors._CODES.values())
    assert not set(ERROR_CODES) - answered
    assert len(set(ERROR_CODES)) == len(ERROR_CODES)


def test_the_document_carries_the_enum() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["ErrorCode"]["enum"] == list(ERROR_CODES)
    code = schemas["ErrorDetail"]["properties"]["code"]
    assert code == {"$ref": "#/components/schemas/ErrorCode"}
