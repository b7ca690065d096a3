"""``keepgreen autohold`` and ``autohold-delete`` refuse bad input in one sentence.

Each test runs the real command against a real site: a refusal is one line on stderr naming
the option or id, exit status 1, no traceback, and no autohold request written.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import KEEPGREEN

pytestmark = pytest.mark.timeout(120)


def keepgreen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEPGREEN, *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("autohold") / "site"
    made = keepgreen("init", str(path), "--admin", "root")
    assert made.returncode == 0, made.stderr
    return path


def refused(result: subprocess.CompletedProcess[str], sentence: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [f"keepgreen: {sentence}"]
    assert result.stdout == ""


def listing(site: Path) -> str:
    shown = keepgreen("autohold-list", str(site))
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


@pytest.mark.parametrize("expires", ["soon", "24", "1w", "0h", "-3h"])
def test_an_unreadable_expiry_is_refused_and_nothing_is_held(site: Path, expires: str) -> None:
    result = keepgreen("autohold", str(site), "--project", "org/demo", "--job", "unit",
                       f"--expires={expires}")

    refused(result, "--expires must be a duration such as 90s, 30m, 24h or 2d, "
                    f"not {expires!r}")
    assert listing(site) == "no autohold requests\n"


def test_deleting_an_unknown_autohold_says_so(site: Path) -> None:
    refused(keepgreen("autohold-delete", str(site), "4242"),
            "there is no autohold request 4242; see keepgreen autohold-list")


def test_a_deleted_autohold_cannot_be_deleted_twice(site: Path) -> None:
    made = keepgreen("autohold", str(site), "--project", "org/demo", "--job", "unit",
                     "--expires", "90s")
    assert made.returncode == 0, made.stderr
    number = made.stdout.split()[1].rstrip(":")
    assert f"{number}: org/demo unit: 0 of 1 held, 90s each" in listing(site)

    first = keepgreen("autohold-delete", str(site), number)
    assert first.returncode == 0 and first.stdout == f"deleted autohold request {number}\n"
    refused(keepgreen("autohold-delete", str(site), number),
            f"there is no autohold request {number}; see keepgreen autohold-list")
    assert listing(site) == "no autohold requests\n"


def test_a_folder_that_is_not_a_site_is_named(tmp_path: Path) -> None:
    refused(keepgreen("autohold-delete", str(tmp_path), "1"),
            f"{tmp_path} is not a keepgreen site; pass the site folder")
