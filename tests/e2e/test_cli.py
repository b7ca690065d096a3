"""The keepgreen command: creating sites, clear refusals, and why a change cannot merge."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from keepgreen.settings import Settings
from tests.support import KEEPGREEN, ROOT, start_server


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEPGREEN, *args], capture_output=True, text=True, timeout=60)


def test_init_creates_a_site_and_refuses_to_overwrite_it(tmp_path: Path):
    site = tmp_path / "site"
    first = run("init", str(site), "--admin", "root")
    assert first.returncode == 0, first.stderr
    assert "username: root" in first.stdout
    assert "HTTP password:" in first.stdout
    assert (site / "keepgreen.toml").exists()
    assert (site / "keepgreen.db").exists()
    assert (site / "git").is_dir()
    assert (site / "secrets" / "site.key").stat().st_mode & 0o077 == 0

    again = run("init", str(site))
    assert again.returncode == 2
    assert "already holds a keepgreen site" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_settings_are_one_clear_line(tmp_path: Path):
    bad_listen = run("init", str(tmp_path / "a"), "--listen", "nowhere")
    assert bad_listen.returncode == 2
    assert "listen must be HOST:PORT" in bad_listen.stderr
    assert "Traceback" not in bad_listen.stderr
    assert not (tmp_path / "a" / "keepgreen.toml").exists()

    bad_db = run("init", str(tmp_path / "b"), "--database", "nosuchdb://x")
    assert bad_db.returncode == 2
    assert "Traceback" not in bad_db.stderr
    assert len(bad_db.stderr.strip().splitlines()) == 1


def test_every_setting_is_listed_and_documented():
    listed = run("settings").stdout
    readme = (ROOT / "README.md").read_text()
    for f in dataclasses.fields(Settings):
        if f.name == "site":
            continue
        assert f"KEEPGREEN_{f.name.upper()}" in listed
        assert f"`{f.name}`" in readme, f"setting {f.name} is missing from the README"


def test_change_command_says_why_a_change_cannot_merge(tmp_path: Path, make_user):
    server = start_server(tmp_path / "site")
    try:
        server.create_project("app")
        alice = make_user(server, "alice")
        repo = alice.clone("app", tmp_path / "w")
        alice.commit(repo, "a.txt", "a\n", "Add a")
        assert alice.push(repo).returncode == 0
        shown = run("change", "1", "--site", str(server.site))
        assert shown.returncode == 0, shown.stderr
        assert "1: Add a" in shown.stdout
        assert "cannot merge:" in shown.stdout
        assert "needs 2 Code-Review +2 votes" in shown.stdout
        assert "needs Workflow +1" in shown.stdout

        missing = run("change", "99", "--site", str(server.site))
        assert missing.returncode == 2
        assert "change 99 not found" in missing.stderr
    finally:
        server.stop()
