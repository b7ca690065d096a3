"""The keepgreen command: creating sites, clear refusals, and why a change cannot merge."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from keepgreen.cli import main
from keepgreen.settings import Settings
from tests.support import KEEPGREEN, ROOT, Server, free_port, start_server


def run(*args: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEPGREEN, *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=env)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    return {**env, **extra}


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


# --- command parsing: a mistyped command is an error, never a new site ------------------


@pytest.mark.parametrize(("args", "suggestion"), [
    (["sevre"], "Did you mean 'serve'?"),
    (["int", "site"], "Did you mean 'init'?"),
    (["merger", "--help"], None),
    (["./my-site"], None),
])
def test_an_unknown_command_is_refused_without_making_a_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
        suggestion: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"No such command '{args[0]}'." in result.output
    if suggestion:
        assert suggestion in result.output
    assert "HTTP password" not in result.output
    assert "Run the server" not in result.output  # not serve's help
    assert list(tmp_path.iterdir()) == []


def test_help_of_the_group_and_of_a_command() -> None:
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0
    assert "serve" in listed.output and "init" in listed.output
    serve_help = CliRunner().invoke(main, ["serve", "--help"])
    assert serve_help.exit_code == 0
    assert "Run the server for SITE" in serve_help.output


def test_keepgreen_alone_serves_the_default_site_and_a_typo_does_not(tmp_path: Path) -> None:
    typo = run("sevre", cwd=tmp_path, env=clean_env())
    assert typo.returncode == 2
    assert "No such command 'sevre'. Did you mean 'serve'?" in typo.stderr
    assert "Traceback" not in typo.stderr
    assert not (tmp_path / "sevre").exists()
    assert not (tmp_path / "keepgreen-site").exists()

    port = free_port()
    out = tmp_path / "serve.out"
    with open(out, "wb") as log:
        process = subprocess.Popen(KEEPGREEN, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                                   env=clean_env(KEEPGREEN_LISTEN=f"127.0.0.1:{port}"),
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/config/server/version",
                             timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"keepgreen alone did not serve:\n{out.read_text()}")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(15)
    assert (tmp_path / "keepgreen-site" / "keepgreen.toml").exists()
    assert f"keepgreen serving {tmp_path / 'keepgreen-site'} at" in out.read_text()


def test_a_site_made_with_relative_paths_serves_from_another_folder(tmp_path: Path,
                                                                    make_user) -> None:  # type: ignore[no-untyped-def]
    # init in one folder with a relative site and a relative SQLite file, serve and query
    # it from others: every path must still name the same site and store.
    made, elsewhere = tmp_path / "made-here", tmp_path / "served-from"
    made.mkdir()
    elsewhere.mkdir()
    port = free_port()
    created = run("init", "site", "--database", "sqlite:///store.db", "--admin-password",
                  "pw-admin", "--listen", f"127.0.0.1:{port}", cwd=made, env=clean_env())
    assert created.returncode == 0, created.stderr
    assert (made / "store.db").exists()
    assert f'database = "sqlite:///{made / "store.db"}"' in (
        made / "site" / "keepgreen.toml").read_text()

    log_path = tmp_path / "serve.out"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*KEEPGREEN, "serve", "../made-here/site"], cwd=elsewhere,
                                   stdout=log, stderr=subprocess.STDOUT, env=clean_env(),
                                   start_new_session=True)
    server = Server(made / "site", f"http://127.0.0.1:{port}/", "admin", "pw-admin", process,
                    log_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(server.url + "config/server/version", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"serve did not start:\n{server.log()}")
        assert not (elsewhere / "store.db").exists()
        server.create_project("app")  # the administrator made by init: the same store
        alice = make_user(server, "alice")
        repo = alice.clone("app", tmp_path / "w")
        alice.commit(repo, "a.txt", "a\n", "Add a")
        pushed = alice.push(repo)
        assert pushed.returncode == 0, pushed.stderr
        assert "[NEW]" in pushed.stderr
        shown = run("change", "1", "--site", "made-here/site", cwd=tmp_path, env=clean_env())
        assert shown.returncode == 0, shown.stderr
        assert "1: Add a" in shown.stdout
    finally:
        server.stop()


def test_static_key_prints_one_stable_key_from_a_relative_site(tmp_path: Path):
    made = run("init", "site", "--admin", "root", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    first = run("static-key", "site", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ssh-ed25519 ") and first.stdout.count("\n") == 1
    private = tmp_path / "site" / "secrets" / "static-hosts"
    assert private.stat().st_mode & 0o077 == 0
    assert run("static-key", "site", cwd=tmp_path).stdout == first.stdout  # made once

    missing = run("static-key", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "is not a keepgreen site folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "nowhere").exists()
