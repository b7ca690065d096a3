"""The node pool's vocabulary and rules stay pure, so the launcher and the scheduler can be
tested with values alone (STYLE.md, habit 1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "keepgreen"
PURE = ("domain/node.py", "nodes/leaks.py")


@pytest.mark.parametrize("name", PURE)
def test_imports_only_the_standard_library_and_the_model(name: str) -> None:
    tree = ast.parse((SRC / name).read_text(), filename=name)
    offenders = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            allowed = module == "keepgreen.domain.node"
            if module.split(".")[0] not in sys.stdlib_module_names and not allowed:
                offenders.append(f"{name}:{node.lineno}: imports {module}")
    assert offenders == []
