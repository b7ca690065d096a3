"""Build requests and results survive the trip through the database as JSON."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from keepgreen.executor import model as ex
from keepgreen.executor import wire
from keepgreen.jobconf.model import Encrypted


def _request() -> ex.BuildRequest:
    secret = ex.SecretBinding("creds", "site-creds", "org/app",
                              {"user": "ci", "password": Encrypted(("QUJD", "REVG")),
                               "nested": {"token": Encrypted(("WFla",))}})
    job = ex.JobSpec(
        name="deploy", run=(ex.Playbook(Path("/srv/src/app"), "playbooks/run.yaml", 1,
                                        (secret,)),),
        pre_run=(ex.Playbook(Path("/srv/base"), "pre.yaml"),),
        nodes=(ex.NodeSpec("controller", "local"),),
        groups=(ex.GroupSpec("web", ("controller",)),),
        vars={"count": 3, "items": [1, {"a": None}]}, host_vars={"controller": {"x": 1}},
        timeout=None, attempts=2, tags=("quarantine",),
        roles=(ex.RoleSource("org/roles", Path("/srv/roles"), "roles", implicit=True),))
    project = ex.Project("org/app", source=Path("/srv/src/app"), checkout="main")
    return ex.BuildRequest(uuid="u1", job=job, item=ex.Item(project, change="12",
                                                              patchset="3"),
                           items_ahead=(ex.Item(ex.Project("org/lib"), change="11",
                                                patchset="1"),),
                           required_projects=(ex.Project("org/lib", required=True),),
                           pipeline="gate", buildset="9", attempt=2,
                           origins={"/srv/src/app": ex.SourceOrigin(
                               "org/app", "a" * 40, "refs/keepgreen/sources/9/" + "a" * 40)})


def test_a_request_comes_back_equal_with_its_secrets_still_ciphertext() -> None:
    request = _request()
    stored = json.loads(json.dumps(wire.dump_request(request)))
    assert "QUJD" in json.dumps(stored) and "ci" in json.dumps(stored)
    data = stored["job"]["run"][0]["secrets"][0]["data"]
    assert data["password"] == {"!encrypted/pkcs1-oaep": ["QUJD", "REVG"]}
    back = wire.load_request(stored)
    assert back == request
    assert isinstance(back.job.run[0].secrets[0].data["nested"]["token"], Encrypted)
    assert back.job.run[0].source == Path("/srv/src/app")
    assert back.origins["/srv/src/app"].commit == "a" * 40


def test_a_moved_request_names_the_new_folders_everywhere() -> None:
    request = _request()
    assert request.folders == (Path("/srv/src/app"), Path("/srv/base"), Path("/srv/roles"))
    moved = request.moved({Path("/srv/src/app"): Path("/x/app"), Path("/srv/base"): Path("/x/b"),
                           Path("/srv/roles"): Path("/x/r")})
    assert moved.folders == (Path("/x/app"), Path("/x/b"), Path("/x/r"))
    assert moved.item.project.source == Path("/x/app") == moved.job.run[0].source
    assert moved.items_ahead[0].project.source is None  # nothing to move


def test_a_result_comes_back_equal() -> None:
    result = ex.BuildResult(
        uuid="u1", job="unit", result=ex.Result.POST_FAILURE, reason="post-run failed",
        started=1.5, ended=9.25, log_dir=Path("/site/builds/u1/2/work/logs"),
        zuul_return={"data": {"zuul": {"log_url": "x"}}},
        attempts=(ex.AttemptRecord(1, None, "unreachable"),
                  ex.AttemptRecord(2, ex.Result.POST_FAILURE, "post-run failed")),
        voting=False, dry_run=None, stages=(("nodes", 0.2), ("run", 3.0)))
    assert wire.load_result(json.loads(json.dumps(wire.dump_result(result)))) == result


def test_a_value_json_cannot_hold_is_refused_with_a_sentence() -> None:
    job = ex.JobSpec(name="unit", run=(), vars={"when": datetime.date(2026, 1, 1)})
    request = ex.BuildRequest(uuid="u", job=job, item=ex.Item(ex.Project("p")))
    with pytest.raises(wire.WireError, match="cannot be written as JSON"):
        wire.dump_request(request)


def test_a_damaged_stored_request_names_the_bad_place() -> None:
    stored = wire.dump_request(_request())
    stored["job"]["attempts"] = "many"
    with pytest.raises(wire.WireError) as caught:
        wire.load_request(stored)
    assert "build request" in str(caught.value) and "attempts" in str(caught.value)
    with pytest.raises(wire.WireError):
        wire.load_result({"uuid": "u"})
