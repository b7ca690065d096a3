"""A site's worth of real-shaped Zuul configuration loads unchanged.

``zuul_corpus/`` holds the configuration of a small Zuul site written in the shapes large
public OpenStack and OpenDev projects use: ``config/`` is the trusted config project and every
other ``<org>/<repo>/`` folder is one project (``.zuul.yaml``, ``zuul.yaml``, ``zuul.d/`` or
``.zuul.d/``). It covers roles from other repositories, ``allowed-projects``, job and
required-project checkout overrides (and their old name ``override-branch``), ``provides`` and
``requires``, pre- and post-timeouts, reporters on mail and a second code host, the ``noop``
job, RE2-only branch matchers, semaphores outside the config project and per playbook, soft
dependencies, pragmas and seven-field timers. These tests load it as the scheduler does and
check what a team moving over would notice: no errors, and the jobs each change would run.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.jobconf.frozen import JobGraph
from keepgreen.jobconf.layout import ProjectFiles, build_layout
from keepgreen.jobconf.model import Layout
from keepgreen.jobconf.source import ConfigError, Located, SequenceNode
from keepgreen.jobconf.yaml_loader import load
from keepgreen.services.gating.layout import pipeline_def
from tests.jobconf.sample_site import files

CORPUS = Path(__file__).parent / "zuul_corpus"
CONFIG = "config"
STABLE = "stable/2023.1"
# Projects with stable branches (each stable branch holding a copy of master's configuration,
# as after a branch is cut); the others are branchless, as tempest and zuul-jobs are.
BRANCHED = ("openstack/nova", "openstack/devstack", "openstack/grenade",
            "openstack/requirements", "openstack/neutron", "opendev/sandbox")
ON_STABLE = ("openstack/nova", "openstack/devstack", "openstack/grenade",
             "openstack/requirements")


@cache
def corpus() -> Mapping[str, Mapping[str, str]]:
    """Project name → repository path → text, for every file of the corpus."""
    projects: dict[str, dict[str, str]] = {}
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        parts = path.relative_to(CORPUS).parts
        name, inner = ((CONFIG, parts[1:]) if parts[0] == CONFIG
                       else ("/".join(parts[:2]), parts[2:]))
        projects.setdefault(name, {})["/".join(inner)] = path.read_text()
    return projects


def sources(*extra: ProjectFiles) -> list[ProjectFiles]:
    result = []
    for name, texts in corpus().items():
        trusted = name == CONFIG
        result.append(ProjectFiles(name, "main" if trusted else "master", files(texts),
                                   trusted=trusted, multi_branch=name in BRANCHED))
        if name in ON_STABLE:
            result.append(ProjectFiles(name, STABLE, files(texts), multi_branch=True))
    return [*result, *extra]


def glance(text: str) -> ProjectFiles:
    """A project new to the site, with one configuration file."""
    return ProjectFiles("openstack/glance", "master", files({".zuul.yaml": text}))


@cache
def layout() -> Layout:
    return build_layout(sources())


def freeze(project: str, pipeline: str, changed: list[str] | None = None,
           branch: str = "master") -> JobGraph:
    return freeze_job_graph(layout(), project=project, branch=branch, pipeline=pipeline,
                            changed_files=["setup.py"] if changed is None else changed)


def all_files() -> list[tuple[str, str]]:
    return [(project, path) for project, texts in corpus().items() for path in texts]


def test_the_corpus_is_the_size_of_a_real_site() -> None:
    objects = 0
    for project, path in all_files():
        tree = load(path, corpus()[project][path])
        assert isinstance(tree, SequenceNode), path
        objects += len(tree.items)
    assert len(all_files()) >= 30
    assert objects >= 150
    assert len(layout().jobs) >= 90 and len(layout().pipelines) == 9


@pytest.mark.parametrize(("project", "path"), all_files(),
                         ids=[f"{p}:{f}" for p, f in all_files()])
def test_every_file_loads_without_an_error(project: str, path: str) -> None:
    tree: Located | ConfigError | None
    try:
        tree = load(path, corpus()[project][path])
    except ConfigError as exc:
        tree = exc
    assert not isinstance(tree, ConfigError), str(tree)
    assert [str(e) for e in layout().errors if e.path == path] == []


def test_the_whole_site_loads_without_an_error() -> None:
    assert [str(e) for e in layout().errors] == []


@pytest.mark.parametrize("name", ["check", "gate", "post", "promote", "release",
                                  "experimental", "periodic", "periodic-weekly", "deploy"])
def test_every_pipeline_is_one_the_scheduler_runs(name: str) -> None:
    pipeline = pipeline_def(layout().pipelines[name])
    assert pipeline.name == name


def test_timers_read_zuuls_seconds_and_jitter_fields() -> None:
    (daily,) = pipeline_def(layout().pipelines["periodic"]).rules.timers
    assert (daily.minutes, daily.hours, daily.jitter) == ({0}, {2}, 600)
    (weekly,) = pipeline_def(layout().pipelines["periodic-weekly"]).rules.timers
    assert weekly.weekdays == {6} and weekly.jitter == 0  # Sunday: Zuul counts from Monday


def test_the_check_pipeline_keeps_its_code_review_triggers_beside_a_github_one() -> None:
    rules = pipeline_def(layout().pipelines["check"]).rules
    assert {e for t in rules.triggers for e in t.events} >= {"patchset-created",
                                                             "comment-added"}


@pytest.mark.parametrize("project", sorted(corpus()))
def test_every_project_freezes_in_every_pipeline(project: str) -> None:
    ran = 0
    for pipeline in layout().pipelines:
        for changed in (["setup.py"], None):
            graph = freeze(project, pipeline, changed)
            ran += len(graph.jobs)
    assert ran > 0


def test_nova_check_runs_its_own_jobs_after_the_templates_and_site_jobs() -> None:
    graph = freeze("openstack/nova", "check", ["nova/compute/manager.py"])
    names = graph.names
    assert {"noop", "openstack-tox-py311", "openstack-tox-pep8", "nova-live-migration",
            "nova-next", "tempest-integrated-compute"} <= set(names)
    assert names.index("openstack-tox-py311") < names.index("nova-live-migration")
    assert graph.job("nova-tox-validate-backport").voting is False
    assert "neutron-linuxbridge-tempest" in graph.reasons
    assert "openstack-tox-lower-constraints" in graph.reasons  # master: old branches only
    networking = freeze("openstack/nova", "check", ["nova/network/neutron.py"])
    assert "neutron-linuxbridge-tempest" in networking.names


def test_nova_docs_only_changes_skip_the_expensive_jobs() -> None:
    graph = freeze("openstack/nova", "check", ["doc/source/index.rst"])
    assert "nova-live-migration" not in graph.names
    assert "irrelevant" in graph.reasons["nova-live-migration"]


def test_an_re2_branch_matcher_picks_the_old_stable_branch() -> None:
    graph = freeze("openstack/nova", "check", ["nova/compute/manager.py"], branch=STABLE)
    assert "openstack-tox-lower-constraints" in graph.names
    assert graph.job("openstack-tox-lower-constraints").vars["tox_envlist"] == \
        "lower-constraints"


def test_role_repositories_and_host_named_projects_reach_the_frozen_job() -> None:
    job = freeze("openstack/neutron", "check", ["neutron/agent/l3.py"]).job(
        "neutron-functional")
    roles = [r.project for r in job.roles if not r.implicit]
    assert roles[0] == "zuul/zuul-jobs" and "openstack/devstack" in roles
    assert "opendev.org/openstack/devstack" in {p.name for p in job.required_projects}
    assert job.timeout == 7800


def test_stable_jobs_of_tempest_check_out_the_services_at_their_release() -> None:
    graph = freeze("openstack/tempest", "check", ["tempest/api/compute/test_servers.py"])
    assert graph.job("tempest-full-2024-1").override_checkout == "stable/2024.1"
    assert graph.job("tempest-full-2023-1").override_checkout == "stable/2023.1"  # old name


def test_releases_tag_under_a_per_playbook_semaphore_with_soft_dependencies() -> None:
    graph = freeze("openstack/releases", "post", None)
    tag = graph.job("tag-releases")
    # A playbook's semaphore is held for the whole build: never less than Zuul holds it.
    assert tag.semaphores == ("release-tag",)
    assert [book.path for book in tag.run] == ["playbooks/release/tag.yaml",
                                               "playbooks/release/announce.yaml"]
    assert graph.semaphore_limit("release-tag") == 1
    assert graph.job("releases-propose-constraints").provides == ("release-tag",)
    check = graph.job("releases-check-announcement")
    assert check.requires == ("release-tag",)
    assert [(d.name, d.soft) for d in check.dependencies] == [
        ("releases-propose-constraints", True)]


def test_a_tag_runs_the_release_jobs_of_the_projects_template() -> None:
    graph = freeze("openstack/nova", "release", None)
    assert "release-openstack-python" in graph.names
    assert graph.job("release-openstack-python").post_timeout is not None


def test_deploy_jobs_inherit_a_protected_semaphored_parent_from_their_own_project() -> None:
    graph = freeze("opendev/system-config", "deploy", ["playbooks/service-zuul.yaml"])
    assert graph.names == ("infra-prod-service-zuul",)
    job = graph.job("infra-prod-service-zuul")
    assert job.semaphores == ("infra-prod-playbook",)
    assert "infra_prod_bastion_key" in job.secrets
    (run,) = job.run
    assert [use.name for use in run.secrets] == ["bastion_key"]
    assert job.dependencies == ()  # soft dependencies on jobs that do not run fall away


def test_a_protected_job_cannot_be_inherited_from_another_project() -> None:
    stranger = "- job:\n    name: steal-the-key\n    parent: infra-prod-playbook\n"
    broken = build_layout(sources(glance(stranger)))
    (error,) = broken.errors
    assert "protected" in str(error) and error.path == ".zuul.yaml"


def test_allowed_projects_keep_a_job_to_the_projects_it_names() -> None:
    site = build_layout(sources(glance(
        "- project:\n    check:\n      jobs:\n        - nova-emulation\n")))
    assert [str(e) for e in site.errors] == []
    with pytest.raises(ConfigError, match="allowed-projects|may not run|not allowed"):
        freeze_job_graph(site, project="openstack/glance", branch="master", pipeline="check",
                         changed_files=["glance/api.py"])
    assert "nova-emulation" in freeze("openstack/nova", "experimental", ["nova/virt/x.py"]).names


def test_pragmas_set_the_branches_a_files_jobs_serve() -> None:
    def stanza(job: str) -> dict[str, Located | ConfigError | None]:
        return files({"zuul.yaml": f"- project:\n    check:\n      jobs:\n        - {job}\n"})

    site = build_layout(sources(
        ProjectFiles("opendev/sandbox", "feature/zuul", stanza("sandbox-hello"),
                     multi_branch=True),
        ProjectFiles("opendev/sandbox", STABLE, stanza("sandbox-hello"), multi_branch=True),
        ProjectFiles("openstack/requirements", "stable/2024.2",
                     stanza("requirements-tox-py311-check-uc"), multi_branch=True)))
    assert [str(e) for e in site.errors] == []

    def check(project: str, branch: str, changed: str) -> JobGraph:
        return freeze_job_graph(site, project=project, branch=branch, pipeline="check",
                                changed_files=[changed])

    # implied-branches: master's jobs serve feature branches, and no others
    feature = check("opendev/sandbox", "feature/zuul", "hello/world.txt")
    assert feature.names == ("sandbox-hello",)
    assert feature.job("sandbox-hello").tags == ("sandbox", "example")
    stable = check("opendev/sandbox", STABLE, "hello/world.txt")
    assert stable.names == ()
    assert "no variant" in stable.reasons["sandbox-hello"]
    # implied-branch-matchers: false: master's jobs serve a branch cut after them
    newer = check("openstack/requirements", "stable/2024.2", "upper-constraints.txt")
    assert "requirements-tox-py311-check-uc" in newer.names
