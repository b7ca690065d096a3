"""The job-configuration core is pure: only ``yaml_loader`` (the adapter) may import anything
outside the standard library and ``keepgreen.jobconf`` itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = "keepgreen.jobconf"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "keepgreen" / "jobconf"
ADAPTERS = {"yaml_loader.py"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([PACKAGE, *([base] if base else [])])
            found.append((node.lineno, base))
    return found


def allowed(module: str) -> bool:
    return (module.split(".")[0] in sys.stdlib_module_names or module == PACKAGE
            or module.startswith(PACKAGE + "."))


PURE_MODULES = sorted(p for p in PACKAGE_DIR.glob("*.py") if p.name not in ADAPTERS)


def test_the_pure_modules_are_found() -> None:
    names = {p.name for p in PURE_MODULES}
    assert {"source.py", "model.py", "parser.py", "layout.py", "freeze.py"} <= names


@pytest.mark.parametrize("path", PURE_MODULES, ids=lambda p: p.name)
def test_pure_module_imports_only_stdlib_and_jobconf(path: Path) -> None:
    offenders = [f"{path.name}:{line}: imports {module}"
                 for line, module in imported_modules(path) if not allowed(module)]
    assert offenders == [], "move this code to the YAML adapter:\n" + "\n".join(offenders)


def test_the_adapter_is_the_one_place_that_imports_yaml() -> None:
    users = [p.name for p in PACKAGE_DIR.glob("*.py")
             if any(m.split(".")[0] == "yaml" for _, m in imported_modules(p))]
    assert users == ["yaml_loader.py"]
