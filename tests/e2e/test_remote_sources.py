"""Sources for executors on other machines: the server keeps each build set's commits under
hidden refs (refs/keepgreen/sources/...), which only Service Users and administrators see
over git HTTP, and ``RemoteSources`` fetches them with an executor's account into a mirror
and writes the named commit's tree. Against a real server and real git; the whole pipeline
with a fetching ``keepgreen executor`` is in tests/e2e/test_remote_executor.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from keepgreen.executor import model as ex
from keepgreen.executor.remote_sources import RemoteSources, SourceError
from tests.support import GitUser, Server


def _publish(server: Server, user: GitUser, project: str, tmp_path: Path,
             files: dict[str, str], ref: str) -> str:
    """A commit with ``files``, written straight into the server's bare repository under
    ``ref`` (as the scheduler does for a build set), never pushed through the server."""
    work = tmp_path / f"w-{ref.rsplit('/', 1)[-1]}"
    user.git("init", "-q", str(work))
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    user.git("add", ".", cwd=work)
    user.git("commit", "-q", "-m", "speculative state", cwd=work)
    sha = user.git("rev-parse", "HEAD", cwd=work).stdout.strip()
    bare = server.site / "git" / f"{project}.git"
    user.git("push", "-q", str(bare), f"HEAD:{ref}", cwd=work)
    return sha


def _request(folder: Path, origin: ex.SourceOrigin | None) -> ex.BuildRequest:
    project = ex.Project(origin.project if origin else "org/x", source=folder)
    return ex.BuildRequest(
        uuid="b1", job=ex.JobSpec(name="unit", run=(ex.Playbook(folder, "run.yaml"),)),
        item=ex.Item(project),
        origins={str(folder): origin} if origin is not None else {})


@pytest.fixture
def published(sqlite_server: Server, make_user, project_name: str,  # type: ignore[no-untyped-def]
              tmp_path: Path) -> tuple[str, str, str]:
    server = sqlite_server
    server.create_project(project_name)
    ref = "refs/keepgreen/sources/7/state"
    sha = _publish(server, make_user(server, "writer"), project_name, tmp_path,
                   {"run.yaml": "- hosts: all\n", "src/app.py": "print('speculative')\n"}, ref)
    return project_name, sha, ref


def _ls_remote(user: GitUser, project: str) -> str:
    return user.git("ls-remote", user.url(project, "a/")).stdout


def test_source_refs_are_shown_to_service_users_only(
        sqlite_server: Server, make_user, published: tuple[str, str, str],  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    project, sha, ref = published
    developer = make_user(sqlite_server, "dev")
    robot = make_user(sqlite_server, "robot", groups=["Service Users"])
    listed = _ls_remote(developer, project)
    assert "refs/heads/main" in listed and ref not in listed
    developer.git("init", "-q", str(tmp_path / "mine"))
    refused = developer.git("fetch", developer.url(project, "a/"), ref, check=False,
                            cwd=tmp_path / "mine")
    assert refused.returncode != 0 and "couldn't find remote ref" in refused.stderr
    assert f"{sha}\t{ref}" in _ls_remote(robot, project)
    # Nor does the REST API show the commit: it is on no branch or tag the caller reads.
    with sqlite_server.client(developer.username, developer.password) as c:
        found = c.get(f"/a/projects/{quote(project, safe='')}/commits/{sha}")
    assert found.status_code == 404, found.text


def test_an_executor_fetches_the_named_commit_and_keeps_it_in_its_mirror(
        sqlite_server: Server, make_user, published: tuple[str, str, str],  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    project, sha, ref = published
    robot = make_user(sqlite_server, "exec", groups=["Service Users"])
    sources = RemoteSources(tmp_path / "exec", sqlite_server.url, robot.username or "",
                            robot.password or "")
    server_folder = Path("/srv/keepgreen/builds/nowhere")  # not on this "machine"
    request = _request(server_folder, ex.SourceOrigin(project, sha, ref))

    local, made = sources.localize(request)
    (folder,) = made
    assert (folder / "src" / "app.py").read_text() == "print('speculative')\n"
    assert local.item.project.source == folder
    assert local.job.run[0].source == folder and local.origins == request.origins
    # The server's ref is gone (its build set ended): the mirror still has the commit.
    subprocess.run(["git", "--git-dir", str(sqlite_server.site / "git" / f"{project}.git"),
                    "update-ref", "-d", ref], check=True)
    again, made_again = sources.localize(request)
    assert (made_again[0] / "run.yaml").exists()
    for checkout in (*made, *made_again):
        subprocess.run(["rm", "-rf", str(checkout)], check=True)


def test_fetch_failures_name_the_project_and_the_cause(
        sqlite_server: Server, make_user, published: tuple[str, str, str],  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    project, sha, ref = published
    robot = make_user(sqlite_server, "exec", groups=["Service Users"])
    developer = make_user(sqlite_server, "dev")
    origin = ex.SourceOrigin(project, sha, ref)
    request = _request(Path("/srv/x"), origin)

    def fails(sources: RemoteSources, wanted: ex.BuildRequest) -> str:
        with pytest.raises(SourceError) as caught:
            sources.localize(wanted)
        assert not list((sources.root / "checkouts").iterdir())  # nothing half-written
        return str(caught.value)

    wrong = RemoteSources(tmp_path / "a", sqlite_server.url, robot.username or "", "nope")
    message = fails(wrong, request)
    assert f"cannot fetch {ref} of {project}" in message and "nope" not in message
    hidden = RemoteSources(tmp_path / "b", sqlite_server.url, developer.username or "",
                           developer.password or "")
    assert f"cannot fetch {ref} of {project}" in fails(hidden, request)

    good = RemoteSources(tmp_path / "c", sqlite_server.url, robot.username or "",
                         robot.password or "")
    other = _publish(sqlite_server, robot, project, tmp_path, {"x": "other\n"},
                     "refs/keepgreen/sources/8/other")
    moved = _request(Path("/srv/x"), ex.SourceOrigin(project, sha,
                                                     "refs/keepgreen/sources/8/other"))
    assert other != sha
    assert f"does not hold commit {sha}" in fails(good, moved)
    assert "named no commit for the folder /srv/x" in fails(good, _request(Path("/srv/x"),
                                                                           None))
    escape = _request(Path("/srv/x"), ex.SourceOrigin("../../etc", sha, ref))
    assert "is not one a repository can have" in fails(good, escape)
