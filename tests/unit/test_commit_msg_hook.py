"""The commit-msg hook served at /tools/hooks/commit-msg, exercised with real git commits."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

HOOK = Path(str(files("keepgreen") / "data" / "commit-msg"))
CHANGE_ID_LINE = re.compile(r"^Change-Id: I[0-9a-f]{40}$")
SCISSORS = "# ------------------------ >8 ------------------------"
DASH = shutil.which("dash")


class Repo:
    """A throw-away repository whose commits run the hook."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=check,
        )

    def git(self, *args: str, **env: str) -> str:
        return self.run("git", *args, env=env).stdout

    def change(self, name: str, content: str | None = None) -> None:
        (self.path / name).write_text(content if content is not None else f"{name}\n")
        self.git("add", name)

    def commit(self, *args: str, **env: str) -> str:
        """Commit with ``args`` and return the recorded message, as ``git log`` shows it."""
        self.git("commit", "-q", *args, **env)
        return self.message()

    def commit_message(self, message: str, *args: str) -> str:
        """Commit ``message`` verbatim from a file (like an editor would leave it)."""
        msg = self.path.parent / "message.txt"
        msg.write_text(message)
        return self.commit("-F", str(msg), *args)

    def message(self, rev: str = "HEAD") -> str:
        return self.git("log", "-1", "--format=format:%B", rev)

    def install(self, hook_text: str) -> None:
        hook = self.path / ".git" / "hooks" / "commit-msg"
        hook.write_text(hook_text)
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "XDG_"))}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CEILING_DIRECTORIES=str(home.parent),
        GIT_EDITOR="true",
        LC_ALL="C",
    )
    return env


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    path = tmp_path / "work"
    path.mkdir()
    r = Repo(path, make_env(tmp_path))
    r.git("init", "-q", "-b", "main")
    r.git("config", "user.name", "Ada Lovelace")
    r.git("config", "user.email", "ada@example.org")
    hook = path / ".git" / "hooks" / "commit-msg"
    shutil.copyfile(HOOK, hook)
    hook.chmod(0o755)
    return r


def paragraphs(message: str) -> list[list[str]]:
    return [p.split("\n") for p in message.strip("\n").split("\n\n")]


def change_ids(message: str) -> list[str]:
    return [line for line in message.splitlines() if line.startswith("Change-Id:")]


def the_change_id(message: str) -> str:
    """The only Change-Id line, which must form (or end) the last paragraph."""
    ids = change_ids(message)
    assert len(ids) == 1, message
    assert CHANGE_ID_LINE.match(ids[0]), message
    assert ids[0] in paragraphs(message)[-1], message
    return ids[0]


def test_hook_is_a_posix_sh_script() -> None:
    text = HOOK.read_text()
    assert text.startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(HOOK)], check=True)
    if DASH:
        subprocess.run([DASH, "-n", str(HOOK)], check=True)


def test_plain_commit_gets_one_change_id_as_last_paragraph(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit("-m", "Add a")

    line = the_change_id(message)
    assert paragraphs(message) == [["Add a"], [line]]
    assert message == f"Add a\n\n{line}\n"


def test_first_commit_of_an_empty_repository(repo: Repo) -> None:
    assert repo.run("git", "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0
    repo.change("a.txt")
    message = repo.commit("-m", "Initial import")

    assert paragraphs(message) == [["Initial import"], [the_change_id(message)]]
    assert repo.git("rev-list", "--count", "HEAD").strip() == "1"


def test_different_commits_get_different_ids(repo: Repo) -> None:
    seen = []
    for name in ("a.txt", "b.txt"):
        repo.change(name)
        seen.append(the_change_id(repo.commit("-m", "Update")))
    repo.change("c.txt")
    seen.append(the_change_id(repo.commit("-m", "Something else")))
    seen.append(the_change_id(repo.commit("--allow-empty", "-m", "Something else")))

    assert len(set(seen)) == len(seen)


def test_amend_keeps_the_change_id(repo: Repo) -> None:
    repo.change("a.txt")
    first = the_change_id(repo.commit("-m", "Add a", "-m", "Some details."))

    repo.change("b.txt")
    amended = repo.commit("--amend", "--no-edit")
    assert the_change_id(amended) == first
    assert amended == f"Add a\n\nSome details.\n\n{first}\n"

    # Rewording in the editor keeps the footer too.
    reworded = repo.commit("--amend", GIT_EDITOR="sed -i 1s/.*/Add\\ a\\ and\\ b/")
    assert reworded == f"Add a and b\n\nSome details.\n\n{first}\n"


def test_amending_a_commit_without_id_adds_one(repo: Repo) -> None:
    repo.change("a.txt")
    repo.commit("--no-verify", "-m", "Add a")
    assert change_ids(repo.message()) == []

    message = repo.commit("--amend", "--no-edit")
    assert paragraphs(message) == [["Add a"], [the_change_id(message)]]


def test_existing_change_id_is_left_alone(repo: Repo) -> None:
    text = (
        "Add a\n\nBody text.\n\n"
        "Bug: 42\nChange-Id: I0123456789abcdef0123456789abcdef01234567\n"
        "Signed-off-by: Ada Lovelace <ada@example.org>\n"
    )
    repo.change("a.txt")
    assert repo.commit_message(text) == text


def test_change_id_goes_before_signed_off_by(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit("-s", "-m", "Add a", "-m", "Why a is needed.")

    line = the_change_id(message)
    assert paragraphs(message) == [
        ["Add a"],
        ["Why a is needed."],
        [line, "Signed-off-by: Ada Lovelace <ada@example.org>"],
    ]


def test_change_id_goes_after_other_trailers_and_before_the_first_sign_off(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit_message(
        "Add a\n\nBody.\n\nBug: 7\nReported-by: Bob <bob@example.org>\n"
        "Signed-off-by: Carol <carol@example.org>\n"
        "Signed-off-by: Ada Lovelace <ada@example.org>\n"
    )

    line = the_change_id(message)
    assert paragraphs(message)[-1] == [
        "Bug: 7",
        "Reported-by: Bob <bob@example.org>",
        line,
        "Signed-off-by: Carol <carol@example.org>",
        "Signed-off-by: Ada Lovelace <ada@example.org>",
    ]
    assert paragraphs(message)[:-1] == [["Add a"], ["Body."]]


def test_change_id_joins_an_existing_trailer_block(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit("-m", "Add a", "-m", "Bug: 12\nDepends-On: https://example.org/1")

    line = the_change_id(message)
    assert paragraphs(message) == [
        ["Add a"],
        ["Bug: 12", "Depends-On: https://example.org/1", line],
    ]


def test_subject_that_looks_like_a_trailer_gets_its_own_footer_paragraph(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit("-m", "Fix: crash on start")

    assert paragraphs(message) == [["Fix: crash on start"], [the_change_id(message)]]


def test_multi_paragraph_body_is_kept_intact(repo: Repo) -> None:
    body = (
        "Rework the frobnicator\n"
        "\n"
        "The old code did this:\n"
        "\n"
        "    frob(x): do the thing\n"
        "    ---\n"
        "    return y\n"
        "\n"
        "Note that it was wrong for\n"
        "negative numbers; see the list below.\n"
        "\n"
        "- one\n"
        "- two\n"
    )
    repo.change("a.txt")
    message = repo.commit_message(body)

    line = the_change_id(message)
    assert message == f"{body}\n{line}\n"


def test_message_without_final_newline(repo: Repo) -> None:
    repo.change("a.txt")
    message = repo.commit_message("Add a\n\nNo newline at the end.")

    line = the_change_id(message)
    assert message == f"Add a\n\nNo newline at the end.\n\n{line}\n"


def test_partial_commit_with_temporary_index(repo: Repo) -> None:
    repo.change("a.txt")
    repo.commit("-m", "Add a")
    (repo.path / "a.txt").write_text("changed\n")
    repo.change("b.txt")
    message = repo.commit("a.txt", "-m", "Change only a")

    assert paragraphs(message) == [["Change only a"], [the_change_id(message)]]
    assert repo.git("show", "--format=", "--name-only", "HEAD").split() == ["a.txt"]


@pytest.mark.parametrize("kind", ["fixup", "squash", "amend"])
def test_fixup_commits_get_no_change_id(repo: Repo, kind: str) -> None:
    repo.change("a.txt")
    repo.commit("-m", "Add a")
    repo.change("b.txt")
    option = {"fixup": "--fixup=HEAD", "squash": "--squash=HEAD", "amend": "--fixup=amend:HEAD"}
    message = repo.commit(option[kind], "--no-edit")

    assert message.startswith(f"{kind}! Add a\n")
    if kind == "amend":
        # "amend!" carries the original message, Change-Id included, and adds no other.
        assert len(change_ids(message)) == 1
    else:
        assert change_ids(message) == []


def test_create_change_id_false_disables_the_hook(repo: Repo) -> None:
    repo.git("config", "gerrit.createChangeId", "false")
    repo.change("a.txt")
    assert repo.commit("-m", "Add a", "-m", "Body.") == "Add a\n\nBody.\n"


def test_create_change_id_always_covers_fixups(repo: Repo) -> None:
    repo.change("a.txt")
    repo.commit("-m", "Add a")
    repo.git("config", "gerrit.createChangeId", "always")
    repo.change("b.txt")
    message = repo.commit("--fixup=HEAD")

    assert paragraphs(message) == [["fixup! Add a"], [the_change_id(message)]]


def test_create_change_id_true_is_the_default_behaviour(repo: Repo) -> None:
    repo.git("config", "gerrit.createChangeId", "true")
    repo.change("a.txt")
    message = repo.commit("-m", "Add a")
    assert paragraphs(message) == [["Add a"], [the_change_id(message)]]
    repo.change("b.txt")
    assert change_ids(repo.commit("--fixup=HEAD")) == []


def test_invalid_create_change_id_value_fails_clearly(repo: Repo) -> None:
    repo.git("config", "gerrit.createChangeId", "sometimes")
    repo.change("a.txt")
    result = repo.run("git", "commit", "-m", "Add a", check=False)

    assert result.returncode != 0
    assert "gerrit.createChangeId must be true, false or always" in result.stderr
    assert repo.run("git", "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0


def test_commit_verbose_with_editor(repo: Repo) -> None:
    repo.change("a.txt", "Change-Id: Ideadbeefdeadbeefdeadbeefdeadbeefdeadbeef\n")
    message = repo.commit("-v", "-e", "-m", "Add a", "-m", "Body.")

    line = the_change_id(message)
    assert message == f"Add a\n\nBody.\n\n{line}\n"
    assert "deadbeef" not in line


def test_commit_verbose_scissors_cleanup_from_file(repo: Repo) -> None:
    repo.change("a.txt", "Signed-off-by: Someone <x@example.org>\n")
    diff = repo.git("diff", "--cached")
    text = (
        "Add a\n\nBody.\n\n"
        f"{SCISSORS}\n"
        "# Do not modify or remove the line above.\n"
        "# Everything below it will be ignored.\n"
        f"{diff}"
        "\nChange-Id: Ideadbeefdeadbeefdeadbeefdeadbeefdeadbeef\n"
    )
    # "scissors" only truncates a message that is edited, as "git commit -v" does.
    message = repo.commit_message(text, "--edit", "--cleanup=scissors")

    line = the_change_id(message)
    assert message == f"Add a\n\nBody.\n\n{line}\n"
    assert "deadbeef" not in line


def run_hook(
    repo: Repo, text: str, shell: str = "sh"
) -> tuple[str, subprocess.CompletedProcess[str]]:
    msg = repo.path.parent / "COMMIT_EDITMSG"
    msg.write_text(text)
    result = repo.run(shell, str(HOOK), str(msg), check=False)
    return msg.read_text(), result


def test_hook_places_footer_above_comments_and_scissors(repo: Repo) -> None:
    repo.change("a.txt")
    text = (
        "Add a\n"
        "\n"
        "# Please enter the commit message for your changes.\n"
        "#\n"
        f"{SCISSORS}\n"
        "# Do not modify or remove the line above.\n"
        "diff --git a/a.txt b/a.txt\n"
        "+Bug: 3\n"
        "+Signed-off-by: Someone <x@example.org>\n"
    )
    edited, result = run_hook(repo, text)

    assert result.returncode == 0, result.stderr
    lines = edited.splitlines(keepends=True)
    assert CHANGE_ID_LINE.match(lines[2].rstrip("\n"))
    assert lines[:2] + lines[3:] == ["Add a\n", "\n", *text.splitlines(keepends=True)[1:]]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n  \n",
        "# Please enter the commit message for your changes.\n#\n",
        f"\n# comment\n{SCISSORS}\ndiff --git a/x b/x\n+real content\n",
    ],
)
def test_empty_message_is_left_alone(repo: Repo, text: str) -> None:
    edited, result = run_hook(repo, text)
    assert result.returncode == 0, result.stderr
    assert edited == text


def test_empty_message_still_aborts_the_commit(repo: Repo) -> None:
    repo.change("a.txt")
    result = repo.run("git", "commit", "-m", "", check=False)
    assert result.returncode != 0
    assert repo.run("git", "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0


def test_custom_comment_char(repo: Repo) -> None:
    repo.git("config", "core.commentChar", ";")
    repo.change("a.txt")
    message = repo.commit("-e", "-m", "#1 Fix the thing")

    assert paragraphs(message) == [["#1 Fix the thing"], [the_change_id(message)]]


def test_failure_outside_a_repository_is_reported(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    msg = outside / "msg"
    msg.write_text("Subject\n")
    result = subprocess.run(
        ["sh", str(HOOK), str(msg)],
        cwd=outside,
        env=make_env(tmp_path),
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("commit-msg hook: ")
    assert msg.read_text() == "Subject\n"


def test_missing_argument_is_reported(repo: Repo) -> None:
    result = repo.run("sh", str(HOOK), check=False)
    assert result.returncode != 0
    assert "commit-msg hook: expected one argument" in result.stderr


@pytest.mark.skipif(DASH is None, reason="dash is not installed")
def test_hook_runs_under_dash(repo: Repo) -> None:
    assert DASH is not None
    repo.install(f'#!/bin/sh\nexec {DASH} "{HOOK}" "$@"\n')
    repo.change("a.txt")
    message = repo.commit("-s", "-m", "Add a", "-m", "Body.")
    line = the_change_id(message)
    assert paragraphs(message) == [
        ["Add a"],
        ["Body."],
        [line, "Signed-off-by: Ada Lovelace <ada@example.org>"],
    ]

    repo.change("b.txt")
    assert change_ids(repo.commit("--fixup=HEAD")) == []
    repo.change("c.txt")
    added = the_change_id(repo.commit("-m", "Add c"))
    assert added != line
    repo.change("d.txt")
    assert the_change_id(repo.commit("--amend", "--no-edit")) == added

    edited, result = run_hook(repo, "Subject\n\n# comment\n", shell=DASH)
    assert result.returncode == 0, result.stderr
    assert CHANGE_ID_LINE.match(edited.splitlines()[2])
