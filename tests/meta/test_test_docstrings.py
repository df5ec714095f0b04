"""Every test function says in a one-line docstring what it guarantees."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.unit


def _tests_without_docstring() -> list[str]:
    missing = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"
            ):
                doc = ast.get_docstring(node)
                if not doc or not doc.strip().splitlines()[0].strip():
                    missing.append(f"{path.relative_to(TESTS)}:{node.lineno} {node.name}")
    return missing


def test_every_test_function_has_a_docstring() -> None:
    """No test function under tests/ lacks a docstring whose first line says what it guarantees."""
    assert _tests_without_docstring() == []
