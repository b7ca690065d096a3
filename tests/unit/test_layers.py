"""The layers of the code point one way and no package has an import circle.

The contracts live in pyproject.toml (``[tool.importlinter]``) and are checked by
import-linter, which reads the sources without running them. The second test gives the same
kinds of contract a small package with an upward import and a circle, so a contract that
silently stopped checking anything would show up here.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from importlinter import cli

ROOT = Path(__file__).resolve().parents[2]


def lint(config: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(cwd)
    return cli.lint_imports(config_filename=str(config), no_cache=True)


def test_keepgreen_keeps_its_layers_and_has_no_circles(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "src"))
    status = lint(ROOT / "pyproject.toml", ROOT, monkeypatch)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "3 kept, 0 broken" in out


def test_an_upward_import_and_a_circle_are_caught(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    package = tmp_path / "layered"
    for name, source in {
        "__init__.py": "",
        "top.py": "from layered import low\n",
        "low/__init__.py": "",
        # the lower layer reaching up: what the layers contract forbids
        "low/a.py": "from layered import top\nfrom layered.low import b\n",
        # b -> a -> b: what the acyclic contract forbids
        "low/b.py": "from layered.low import a\n",
    }.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_package = "layered"

        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["layered.top", "layered.low"]

        [[tool.importlinter.contracts]]
        name = "acyclic"
        type = "acyclic_siblings"
        ancestors = ["layered"]
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("layered", None)
    status = lint(config, tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert status != 0
    assert "layered.low.a -> layered.top" in out
    assert "0 kept, 2 broken" in out
