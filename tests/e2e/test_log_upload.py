"""Logs of executors on other machines reach the server: ``PUT /a/api/builds/{uuid}/logs/
{attempt}`` takes a tar.gz of an attempt's logs folder from a Service User and unpacks it
where the log server reads it. Against a real server over real HTTP; build rows go into the
site's store as the scheduler writes them. The whole way, from a fetching
``keepgreen executor`` to the log pages, is in tests/e2e/test_remote_executor.py.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import tarfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from keepgreen import settings as settings_mod
from keepgreen.executor import model as ex
from keepgreen.executor.log_upload import LogUploader, LogUploadError
from keepgreen.services.gating.executor_worker import ExecutorWorker
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.support import GitUser, Server, start_server


def _add_build(server: Server, project: str) -> str:
    """A build of a branch update of ``project`` (visible with the project), running."""
    build = uuid.uuid4().hex
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.write() as conn:
            build_store.add_build(conn, uuid=build, pipeline="post", project=project,
                                  change_number=0, patch_set=0, job="unit", voting=True,
                                  started=datetime(2030, 1, 1, 12, 0))
    finally:
        db.dispose()
    return build


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _tar_with(member: tarfile.TarInfo) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("job-output.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"ok\n"))
        tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    return out.getvalue()


def _put(user: GitUser | None, server: Server, build: str, body: bytes | Iterator[bytes],
         attempt: int = 1) -> httpx.Response:
    auth = (user.username or "", user.password or "") if user is not None else None
    return httpx.put(f"{server.url}a/api/builds/{build}/logs/{attempt}", content=body,
                     auth=auth, headers={"Content-Type": "application/gzip"}, timeout=30)


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _left_in(server: Server, build: str) -> list[str]:
    builds = server.site / "builds"
    if not builds.exists():
        return []
    return [p.name for p in builds.iterdir() if p.name == build or p.name.startswith(".")]


LOGS = {"job-output.txt": b"[executor] build ran far away\nall green\n",
        "zuul-info/inventory.yaml": b"all: {}\n"}


def test_a_service_user_uploads_logs_once_and_the_server_serves_them(
        sqlite_server: Server, make_user, project_name: str) -> None:  # type: ignore[no-untyped-def]
    server = sqlite_server
    server.create_project(project_name)
    build = _add_build(server, project_name)
    robot = make_user(server, "exec", groups=["Service Users"])

    r = _put(robot, server, build, _tar(LOGS))
    assert r.status_code == 201, r.text
    placed = server.site / "builds" / build / "1" / "work" / "logs"
    assert r.json() == {"build": build, "attempt": 1, "log_dir": str(placed)}
    with server.client() as c:
        served = c.get(f"/logs/{build}/job-output.txt")
        assert served.status_code == 200
        assert served.text == LOGS["job-output.txt"].decode()
        listed = c.get(f"/logs/{build}/", headers={"Accept": "application/json"}).json()
    assert {f["name"] for f in listed["files"]} == set(LOGS)
    assert _left_in(server, build) == [build]  # no scratch folder stays behind

    again = _put(robot, server, build, _tar({"job-output.txt": b"other\n"}))
    assert again.status_code == 409, again.text
    assert again.text == f"the logs of attempt 1 of build {build} are already on the server\n"
    assert (placed / "job-output.txt").read_bytes() == LOGS["job-output.txt"]
    # The next attempt of the same build has logs of its own.
    assert _put(robot, server, build, _tar({"job-output.txt": b"2\n"}), 2).status_code == 201


def test_only_service_users_upload_and_only_for_known_builds(
        sqlite_server: Server, make_user, project_name: str) -> None:  # type: ignore[no-untyped-def]
    server = sqlite_server
    server.create_project(project_name)
    build = _add_build(server, project_name)
    developer = make_user(server, "dev")
    robot = make_user(server, "exec", groups=["Service Users"])
    body = _tar(LOGS)

    anonymous = _put(None, server, build, body)
    assert anonymous.status_code == 401
    assert anonymous.text == ("uploading build logs needs you to sign in as a Service User "
                              "(use /a/ with your HTTP password)\n")
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    refused = _put(developer, server, build, body)
    assert refused.status_code == 403
    assert refused.text == (f"only Service Users may upload build logs, and "
                            f"{developer.username} is not in Service Users\n")
    unknown = uuid.uuid4().hex
    missing = _put(robot, server, unknown, body)
    assert missing.status_code == 404 and missing.text == f"build {unknown} not found\n"
    bad = _put(robot, server, build, body, attempt=0)
    assert bad.status_code == 400 and bad.text.startswith("the attempt must be between 1 and")
    nul = _put(robot, server, "a%00b", body)
    assert nul.status_code == 400, nul.text
    assert _left_in(server, build) == [] and _left_in(server, unknown) == []


@pytest.mark.parametrize(("member", "says"), [
    ("../x", "contains '..'"),
    ("/etc/x", "has an absolute path"),
    ("link", "is a link"),
    ("fifo", "is a device, FIFO or other special file"),
])
def test_archives_that_would_write_outside_the_logs_folder_are_refused(
        sqlite_server: Server, make_user, project_name: str,  # type: ignore[no-untyped-def]
        member: str, says: str) -> None:
    server = sqlite_server
    server.create_project(project_name)
    build = _add_build(server, project_name)
    robot = make_user(server, "exec", groups=["Service Users"])
    info = tarfile.TarInfo(member)
    if member == "link":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif member == "fifo":
        info.type = tarfile.FIFOTYPE
    else:
        info.size = 1

    r = _put(robot, server, build, _tar_with(info))
    assert r.status_code == 400, r.text
    assert r.text.startswith(f"the log archive's member {member!r} {says}")
    assert r.text.count("\n") == 1
    assert _left_in(server, build) == []
    assert not (server.site / "x").exists()
    garbage = _put(robot, server, build, b"not a tar at all")
    assert garbage.status_code == 400
    assert garbage.text.startswith("the body is not a gzip-compressed tar")
    assert _left_in(server, build) == []


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose uploads may be 64 KiB, and other request bodies 1 KiB."""
    server = start_server(tmp_path_factory.mktemp("small") / "site", extra_env={
        "KEEPGREEN_MAX_PUSH_BYTES": str(64 * 1024), "KEEPGREEN_MAX_REQUEST_BYTES": "1024"})
    yield server
    server.stop()


def test_uploads_are_bounded_by_max_push_bytes_not_the_request_limit(
        small_server: Server, make_user, project_name: str) -> None:  # type: ignore[no-untyped-def]
    server = small_server
    server.create_project(project_name)
    robot = make_user(server, "exec", groups=["Service Users"])
    over = "the log archive is larger than 65536 bytes, the server's limit (setting " \
           "max_push_bytes)\n"
    # Past the 1 KiB of other requests, within the 64 KiB of uploads.
    fits = _tar({"job-output.txt": os.urandom(16 * 1024)})
    assert 1024 < len(fits) < 64 * 1024
    build = _add_build(server, project_name)
    assert _put(robot, server, build, fits).status_code == 201

    big = os.urandom(200 * 1024)
    declared = _add_build(server, project_name)
    r = _put(robot, server, declared, big)
    assert r.status_code == 413 and r.text == over
    assert r.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start:start + 8192]

    chunked = _add_build(server, project_name)
    r = _put(robot, server, chunked, chunks())
    assert r.status_code == 413 and r.text == over
    for name in (declared, chunked):
        assert _left_in(server, name) == []


def test_the_executor_side_sends_a_logs_folder_and_names_the_cause_when_it_cannot(
        sqlite_server: Server, make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = sqlite_server
    server.create_project(project_name)
    build = _add_build(server, project_name)
    robot = make_user(server, "exec", groups=["Service Users"])
    logs = tmp_path / build / "3" / "work" / "logs"
    (logs / "zuul-info").mkdir(parents=True)
    (logs / "job-output.txt").write_text("ran elsewhere\n")
    (logs / "zuul-info" / "inventory.yaml").write_text("all: {}\n")
    (logs / "escape.txt").symlink_to("/etc/passwd")  # left out: the server takes no links
    uploader = LogUploader(server.url, _basic(robot.username or "", robot.password or ""),
                           tmp_path / "scratch")

    placed = uploader.upload(build, 3, logs)
    assert placed == server.site / "builds" / build / "3" / "work" / "logs"
    assert (placed / "zuul-info" / "inventory.yaml").read_text() == "all: {}\n"
    assert not (placed / "escape.txt").exists()
    assert not list((tmp_path / "scratch").iterdir())
    with pytest.raises(LogUploadError) as twice:
        uploader.upload(build, 3, logs)
    assert str(twice.value) == (f"the server answered 409: the logs of attempt 3 of build "
                                f"{build} are already on the server")

    # An executor whose upload fails keeps its own folder, and the build its result.
    wrong = LogUploader(server.url, _basic("nobody", "nope"), tmp_path / "scratch")
    db = Database(settings_mod.load(server.site).database_url)
    worker = ExecutorWorker(db, lambda: None, uploader=wrong)  # type: ignore[arg-type, return-value]
    now = time.time()
    result = ex.BuildResult(uuid=build, job="unit", result=ex.Result.SUCCESS, reason="ok",
                            started=now, ended=now, log_dir=logs)
    try:
        with caplog.at_level(logging.WARNING):
            assert worker._send_logs(result) == result
    finally:
        db.dispose()
    assert (f"build {build} of job unit: its logs stay in {logs} on this executor, they did "
            "not reach the server: the server answered 401: wrong username or HTTP password"
            ) in caplog.text
