"""The README's first run, as written: start the server with no SITE from a fresh folder, then
paste "A first change for review" into a shell. The commands are read out of README.md, so
the test breaks when the README and the product drift apart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port, gerrit_json

README = ROOT / "README.md"
README_LISTEN = "127.0.0.1:8080"


def code_blocks(section: str) -> list[str]:
    """The indented code blocks under the README heading ``## section``."""
    text = README.read_text()
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"README.md has no section {section!r}"
    blocks, current = [], []
    for line in match.group(1).splitlines():
        if line.startswith("    ") or (current and not line.strip()):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current).strip() + "\n")
            current = []
    if current:
        blocks.append("\n".join(current).strip() + "\n")
    return blocks


def keepgreen_command() -> list[str]:
    """The ``keepgreen`` that ``scripts/serve`` execs: the one of this virtualenv."""
    installed = Path(sys.executable).parent / "keepgreen"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "keepgreen"]


def test_scripts_serve_is_valid_shell_and_hands_its_arguments_to_keepgreen_serve() -> None:
    # scripts/serve installs into the repository's virtualenv (pip, maybe apt) before it
    # execs `keepgreen serve`; the first-run test below runs that same command directly, so
    # here the script is checked to parse and to pass its arguments through unchanged.
    script = ROOT / "scripts" / "serve"
    assert os.access(script, os.X_OK)
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    last = script.read_text().strip().splitlines()[-1]
    assert last == 'exec "$VENV/bin/keepgreen" serve "$@"'
    assert code_blocks("The two commands")[0] == "scripts/serve\n"


class FirstRun:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.output = folder / "serve.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
        with open(self.output, "wb") as out:
            # No SITE: the relative default ./keepgreen-site, in a folder of its own.
            self.process = subprocess.Popen(
                [*keepgreen_command(), "serve", "--listen", f"127.0.0.1:{port}"],
                cwd=folder, stdout=out, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
        self.url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"keepgreen serve exited:\n{self.text()}")
            try:
                if httpx.get(self.url + "config/server/version", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"keepgreen serve did not start:\n{self.text()}")

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def admin_password(self) -> str:
        found = re.search(r"HTTP password: (\S+)", self.text())
        assert found, f"no administrator password printed:\n{self.text()}"
        return found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def first_run(tmp_path: Path) -> Iterator[FirstRun]:
    folder = tmp_path / "fresh"
    folder.mkdir()
    run = FirstRun(folder, free_port())
    yield run
    run.stop()


def user_env(home: Path, host: str, user: str, password: str) -> dict[str, str]:
    """A git user with an identity and a stored password, as someone who ran the commands
    would have; nothing else of the machine's configuration."""
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Alice\n\temail = alice@example.org\n"
                                     "[credential]\n\thelper = store\n")
    (home / ".git-credentials").write_text(f"http://{user}:{password}@{host}\n")
    (home / ".git-credentials").chmod(0o600)
    return {"HOME": str(home), "PATH": os.environ["PATH"], "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def test_the_readme_first_change_for_review_works_as_written(first_run: FirstRun,
                                                             tmp_path: Path) -> None:
    assert (first_run.folder / "keepgreen-site" / "keepgreen.toml").exists()
    block = code_blocks("A first change for review")[0]
    host = f"127.0.0.1:{first_run.port}"
    script = block.replace(README_LISTEN, host).replace("PASSWORD",
                                                        first_run.admin_password())
    expected = [line.removeprefix("#").strip() for line in script.splitlines()
                if line.startswith("# remote:")]
    assert expected, "the README no longer shows what the push answers"
    account = re.search(r'/a/accounts/(\w+)', block)
    password = re.search(r'"http_password": "([^"]+)"', block)
    assert account and password, "the README no longer creates the account it clones with"
    work = tmp_path / "work"
    work.mkdir()
    env = user_env(tmp_path / "home", host, account.group(1), password.group(1))
    shell = subprocess.run(["sh", "-e", "-c", script], cwd=work, env=env, capture_output=True,
                           text=True, timeout=180)
    said = shell.stdout + shell.stderr
    assert shell.returncode == 0, f"{said}\nserver:\n{first_run.text()}"
    assert "[NEW]" in said, said
    for line in expected:
        assert " ".join(line.split()) in " ".join(said.split()), said
    # The change is there for review, as the link says.
    with httpx.Client(base_url=first_run.url, timeout=30) as client:
        found = client.get("/changes/", params={"q": "topic:readme"})
    assert found.status_code == 200
    assert [(c["project"], c["subject"]) for c in gerrit_json(found)] == [
        ("org/app", "Add a readme")]
