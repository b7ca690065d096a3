"""The executor's vocabulary and rules stay pure (STYLE.md, habit 1): the scheduler and
tests use them with values alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

EXECUTOR = Path(__file__).resolve().parents[2] / "src" / "keepgreen" / "executor"
PURE = ("model.py", "zuulvars.py", "verdict.py")
ALLOWED = {"keepgreen.executor.model", "keepgreen.domain.node"}


@pytest.mark.parametrize("name", PURE)
def test_imports_only_the_standard_library_and_models(name: str) -> None:
    tree = ast.parse((EXECUTOR / name).read_text(), filename=name)
    offenders = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            if module.split(".")[0] not in sys.stdlib_module_names and module not in ALLOWED:
                offenders.append(f"{name}:{node.lineno}: imports {module}")
    assert offenders == []
