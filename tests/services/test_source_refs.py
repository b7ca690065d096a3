"""The scheduler's side of remote sources: each folder it checks out remembers its commit,
a build's request names the commit of each of its folders under a hidden ref of the build
set, the refs go with the build set, and what an earlier scheduler left is swept. Real
bare repositories and real git."""

from __future__ import annotations

from pathlib import Path

from keepgreen.domain.change import Person
from keepgreen.domain.refs import SOURCES
from keepgreen.executor import model as ex
from keepgreen.git.repos import Repos
from keepgreen.services.gating.source_refs import SourceRefs
from keepgreen.store.clock import utcnow


def _repos(tmp_path: Path) -> tuple[Repos, str, str]:
    repos = Repos(tmp_path / "git")
    who = Person("Tester", "tester@example.org", utcnow())
    shas = []
    for project in ("org/app", "config"):
        repos.create(project, "main")
        shas.append(repos.create_empty_commit(project, "main", who, f"{project} starts"))
    return repos, shas[0], shas[1]


def _checked_out(refs: SourceRefs, tmp_path: Path, app_sha: str,
                 config_sha: str) -> tuple[Path, Path]:
    app, config = tmp_path / "app", tmp_path / "config"
    app.mkdir()
    config.mkdir()
    refs.checkout("org/app", app_sha, app)
    refs.checkout("config", config_sha, config)
    return app, config


def _request(app: Path, config: Path, role: Path | None = None) -> ex.BuildRequest:
    job = ex.JobSpec(name="unit", run=(ex.Playbook(app, "run.yaml"),),
                     pre_run=(ex.Playbook(config, "pre.yaml"),),
                     roles=(ex.RoleSource("org/roles", role, "r"),) if role else ())
    return ex.BuildRequest(uuid="u1", job=job, item=ex.Item(ex.Project("org/app", source=app)))


def test_a_request_names_the_commit_of_each_folder_under_a_ref_of_its_build_set(
        tmp_path: Path) -> None:
    repos, app_sha, config_sha = _repos(tmp_path)
    refs = SourceRefs(repos)
    app, config = _checked_out(refs, tmp_path, app_sha, config_sha)
    stranger = tmp_path / "not-checked-out"

    request = refs.publish(3, _request(app, config, stranger))
    assert request.origins == {
        str(app): ex.SourceOrigin("org/app", app_sha, f"{SOURCES}3/{app_sha}"),
        str(config): ex.SourceOrigin("config", config_sha, f"{SOURCES}3/{config_sha}"),
    }
    assert repos.resolve("org/app", f"{SOURCES}3/{app_sha}") == app_sha
    assert repos.resolve("config", f"{SOURCES}3/{config_sha}") == config_sha
    # A second build of the same build set reuses the refs.
    assert refs.publish(3, _request(app, config)).origins == request.origins

    refs.release(3, [app, config])
    assert repos.refs("org/app", SOURCES) == [] and repos.refs("config", SOURCES) == []
    assert refs.publish(4, _request(app, config)).origins == {}  # forgotten folders


def test_refs_an_earlier_scheduler_left_go_at_the_first_build_in_a_project(
        tmp_path: Path) -> None:
    repos, app_sha, config_sha = _repos(tmp_path)
    left = f"{SOURCES}9/{app_sha}"
    repos.update_refs("org/app", [(left, app_sha, "")])
    refs = SourceRefs(repos)
    app, config = _checked_out(refs, tmp_path, app_sha, config_sha)

    refs.publish(1, _request(app, config))
    assert [ref for ref, _ in repos.refs("org/app", SOURCES)] == [f"{SOURCES}1/{app_sha}"]
