"""The pure core stays pure: ``keepgreen.domain`` imports only the standard library and itself.

STYLE.md, habit 1: review rules, the gate queue algorithm, job-config parsing and ACL
evaluation take values and return decisions, so they must never reach for the store, git,
HTTP or any third-party package. This test reads every module's source (it does not import
them) and names each offending import with its file and line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN_PACKAGE = "keepgreen.domain"
DOMAIN_DIR = Path(__file__).resolve().parents[2] / "src" / "keepgreen" / "domain"


def _module_name(path: Path) -> str:
    relative = path.relative_to(DOMAIN_DIR).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return ".".join([DOMAIN_PACKAGE, *parts])


def _is_allowed(module: str) -> bool:
    top = module.split(".", 1)[0]
    return (top in sys.stdlib_module_names
            or module == DOMAIN_PACKAGE or module.startswith(DOMAIN_PACKAGE + "."))


def _resolve_relative(module_name: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module a ``from <dots><target> import ...`` in ``module_name`` names."""
    package = module_name.split(".") if is_package else module_name.split(".")[:-1]
    if level - 1 > len(package):
        return "." * level + (target or "")  # escapes the top package: never allowed
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def forbidden_imports(source: str, module_name: str, is_package: bool = False,
                      filename: str = "<source>") -> list[str]:
    """Every import in ``source`` that is neither standard library nor keepgreen.domain."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(module_name, is_package, node.level, node.module)
            else:
                base = node.module or ""
            if _is_allowed(base):
                targets = [base]
            else:
                # ``from keepgreen import domain`` is fine; ``from keepgreen import store`` not.
                targets = [f"{base}.{alias.name}" for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id == "__import__")
                   or (isinstance(node.func, ast.Attribute)
                       and node.func.attr == "import_module"))):
            targets = [node.args[0].value]
        else:
            continue
        for target in targets:
            if not _is_allowed(target):
                problems.append(f"{filename}:{node.lineno}: imports {target}")
    return problems


def domain_files() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def test_domain_package_is_found() -> None:
    names = {p.name for p in domain_files()}
    # The walk must actually see the modules STYLE.md calls the pure core.
    assert {"__init__.py", "upload.py", "acl.py", "changeid.py", "pushopts.py"} <= names


@pytest.mark.parametrize("path", domain_files(), ids=lambda p: p.name)
def test_domain_module_imports_only_stdlib_and_domain(path: Path) -> None:
    problems = forbidden_imports(
        path.read_text(encoding="utf-8"), _module_name(path),
        is_package=path.name == "__init__.py", filename=str(path.relative_to(DOMAIN_DIR.parent)))
    assert not problems, (
        "the pure core (keepgreen.domain) may import only the standard library and "
        "keepgreen.domain.*; move this code to a service or adapter:\n" + "\n".join(problems))


# --- the checker itself, so a silent walker cannot pass vacuously -------------------------


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations\nimport re, dataclasses\n",
        "from collections.abc import Mapping\nimport urllib.parse\n",
        "from keepgreen.domain import changeid\n",
        "from keepgreen.domain.account import Account\n",
        "import keepgreen.domain.refs\n",
        "from keepgreen import domain\n",
        "from . import refs\nfrom .account import Principal\n",
        "import importlib\nimportlib.import_module('json')\n",
    ],
)
def test_checker_accepts_stdlib_and_domain_imports(source: str) -> None:
    assert forbidden_imports(source, "keepgreen.domain.sample") == []


@pytest.mark.parametrize(
    ("source", "offender"),
    [
        ("import sqlalchemy\n", "sqlalchemy"),
        ("from sqlalchemy import select\n", "sqlalchemy"),
        ("from keepgreen.store import db\n", "keepgreen.store"),
        ("from keepgreen import store\n", "keepgreen.store"),
        ("import keepgreen.services.errors\n", "keepgreen.services.errors"),
        ("from ..services import errors\n", "keepgreen.services"),
        ("def f():\n    import httpx\n", "httpx"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pygit2\n", "pygit2"),
        ("import importlib\nimportlib.import_module('yaml')\n", "yaml"),
        ("__import__('argon2')\n", "argon2"),
    ],
)
def test_checker_rejects_everything_else(source: str, offender: str) -> None:
    problems = forbidden_imports(source, "keepgreen.domain.sample")
    assert len(problems) == 1
    assert offender in problems[0]
    assert ":" in problems[0]  # names file and line
