"""Constructs that real Zuul configurations use and that load unchanged: the built-in
``noop`` job, job attributes such as ``allowed-projects`` and ``override-checkout``,
semaphore forms and RE2-style branch matchers."""

from __future__ import annotations

import pytest

from keepgreen.jobconf.freeze import freeze_job_graph
from keepgreen.jobconf.model import RoleRepo, implicit_role_name, project_name_candidates
from keepgreen.jobconf.regex import normalise
from keepgreen.jobconf.source import ConfigError
from tests.jobconf.sample_site import errors, project, site

APP = "org/app"


def test_the_builtin_noop_job_runs_without_nodes_or_playbooks() -> None:
    layout = site(project(APP, {".zuul.yaml": """\
- project:
    check:
      jobs:
        - noop
    gate:
      jobs:
        - noop:
            voting: true
"""}))
    assert errors(layout) == []
    for pipeline in ("check", "gate"):
        graph = freeze_job_graph(layout, project=APP, branch="main", pipeline=pipeline)
        assert graph.names == ("noop",), graph.reasons
        noop = graph.job("noop")
        assert not noop.playbooks and not noop.nodeset.nodes and noop.voting


def test_a_project_may_not_redefine_noop() -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: noop\n    run: x.yaml\n"}))
    assert len(layout.errors) == 1
    assert '.zuul.yaml:2' in errors(layout)[0] and 'job "noop" is already defined' in errors(
        layout)[0]


JOB_ATTRIBUTES = """\
- job:
    name: tox
    parent: base
    run: playbooks/tox.yaml
    override-branch: stable/2024.1
    post-timeout: 300
    pre-timeout: 120
    provides: [tox-venv]
    allowed-projects: [org/app, org/lib]
- job:
    name: tox-py3
    parent: tox
    override-checkout: main
    requires: tox-venv
    provides: wheels
    allowed-projects:
      - org/app
- project:
    check:
      jobs:
        - tox-py3
"""


def test_job_attributes_are_kept_and_inherited() -> None:
    layout = site(project(APP, {".zuul.yaml": JOB_ATTRIBUTES}))
    assert errors(layout) == []
    tox = layout.jobs["tox"][0]
    assert tox.override_checkout == "stable/2024.1"  # the old name sets the same attribute
    job = freeze_job_graph(layout, project=APP, branch="main", pipeline="check").job("tox-py3")
    assert job.override_checkout == "main"
    assert (job.pre_timeout, job.post_timeout) == (120, 300)
    assert job.provides == ("tox-venv", "wheels") and job.requires == ("tox-venv",)
    assert job.allowed_projects == (APP,)  # each definition narrows the list


def test_a_job_not_allowed_for_a_project_is_an_error_naming_file_and_line() -> None:
    text = JOB_ATTRIBUTES.replace("      - org/app\n", "      - org/lib\n")
    layout = site(project(APP, {".zuul.yaml": text}))
    assert errors(layout) == []
    with pytest.raises(ConfigError) as caught:
        freeze_job_graph(layout, project=APP, branch="main", pipeline="check")
    assert str(caught.value).startswith(
        '.zuul.yaml:21:11: job "tox-py3" may not run for project "org/app": its '
        '"allowed-projects" (.zuul.yaml:17:7) allow only "org/lib"')


def test_an_untrusted_job_with_secrets_is_allowed_only_in_its_own_project() -> None:
    lib = project("org/lib", {".zuul.yaml": """\
- secret:
    name: token
    data: {value: x}
- job:
    name: publish
    run: playbooks/publish.yaml
    secrets: [token]
"""})
    app = project(APP, {".zuul.yaml": "- project:\n    gate:\n      jobs: [publish]\n"})
    layout = site(lib, app)
    assert errors(layout) == []
    with pytest.raises(ConfigError, match='may not run for project "org/app".*"org/lib"'):
        freeze_job_graph(layout, project=APP, branch="main", pipeline="gate")


@pytest.mark.parametrize(("text", "message"), [
    ("    override-checkout: a\n    override-branch: b\n",
     '.zuul.yaml:4:5: job "x" has both "override-checkout" and its old name '
     '"override-branch"; keep only "override-checkout"'),
    ("    post-timeout: soon\n",
     '.zuul.yaml:3:19: job "x": "post-timeout" must be a positive whole number of seconds, '
     'not text "soon"'),
    ("    allowed-projects: {org/app: true}\n",
     '.zuul.yaml:3:23: job "x": "allowed-projects" must be text or a list of texts, not a '
     "mapping"),
])
def test_bad_job_attributes_are_refused_with_file_and_line(text: str, message: str) -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: x\n" + text}))
    assert [e.split(" in org/app")[0] for e in errors(layout)] == [message]


def test_branch_matchers_in_re2_syntax_load_and_match_as_in_zuul() -> None:
    layout = site(project(APP, {".zuul.yaml": """\
- job:
    name: stable-only
    run: playbooks/unit.yaml
    branches: ^*(stable/.*)$
- project:
    check:
      jobs:
        - stable-only
"""}, branch="stable/2024.1"))
    assert errors(layout) == []
    graph = freeze_job_graph(layout, project=APP, branch="stable/2024.1", pipeline="check")
    assert graph.names == ("stable-only",)
    assert not layout.jobs["stable-only"][0].matches_branch("main")


@pytest.mark.parametrize(("pattern", "normalised"), [
    ("^*/(foo)$", "(?:^)*/(foo)$"),
    ("a$?", "a(?:$)?"),
    (r"\^*[$*]", r"\^*[$*]"),  # escaped or inside a class: left alone
    ("^stable/.*$", "^stable/.*$"),
])
def test_repeated_anchors_are_grouped(pattern: str, normalised: str) -> None:
    assert normalise(pattern) == normalised


def test_a_regex_invalid_in_re2_too_is_still_refused() -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: x\n    branches: (stable\n"}))
    assert len(errors(layout)) == 1 and "invalid regular expression" in errors(layout)[0]


def test_the_frozen_graph_carries_each_semaphores_max() -> None:
    layout = site(project(APP, {".zuul.yaml": """\
- job:
    name: deploy
    run: playbooks/deploy.yaml
    semaphore: publish
- job:
    name: migrate
    run: playbooks/migrate.yaml
    semaphores: [publish, undefined-lock]
- project:
    check:
      jobs: [deploy, migrate]
"""}))
    assert errors(layout) == []
    graph = freeze_job_graph(layout, project=APP, branch="main", pipeline="check")
    assert graph.job("migrate").semaphores == ("publish", "undefined-lock")
    assert graph.semaphore_limit("publish") == 1
    assert graph.semaphore_limit("undefined-lock") == 1  # as Zuul: an undefined one admits one


SEMAPHORE_FORMS = """\
- semaphore:
    name: lab-hardware
    max: 2
- job:
    name: deploy
    run:
      - playbooks/prepare.yaml
      - name: playbooks/deploy.yaml
        semaphores: [prod-db]
      - name: playbooks/smoke.yaml
        semaphore: lab-hardware
    semaphores:
      - name: prod-deploy
      - prod-db
- job:
    name: deploy-canary
    parent: deploy
    semaphore: {name: canary}
- project:
    gate:
      jobs: [deploy-canary]
"""


def test_semaphores_in_any_project_and_in_every_form_zuul_documents() -> None:
    layout = site(project(APP, {".zuul.yaml": SEMAPHORE_FORMS}))
    assert errors(layout) == []
    assert layout.semaphores["lab-hardware"].max == 2  # defined outside the config project
    deploy = layout.jobs["deploy"][0]
    assert deploy.run == ("playbooks/prepare.yaml", "playbooks/deploy.yaml",
                          "playbooks/smoke.yaml")
    # A playbook's semaphores are held for the whole build.
    assert deploy.semaphores == ("prod-deploy", "prod-db", "lab-hardware")
    graph = freeze_job_graph(layout, project=APP, branch="main", pipeline="gate")
    job = graph.job("deploy-canary")
    assert set(job.semaphores) == {"prod-deploy", "prod-db", "lab-hardware", "canary"}
    assert graph.semaphore_limit("lab-hardware") == 2


def test_a_project_may_not_redefine_a_semaphore_of_the_config_project() -> None:
    layout = site(project(APP, {".zuul.yaml": "- semaphore:\n    name: publish\n    max: 9\n"}))
    assert len(errors(layout)) == 1
    assert 'semaphore "publish" is already defined' in errors(layout)[0]
    assert layout.semaphores["publish"].max == 1


@pytest.mark.parametrize(("text", "message"), [
    ("    semaphores: [{}]\n", 'an entry of "semaphores" needs "name"'),
    ("    semaphores: [{name: a, max: 2}]\n", 'has unknown key "max"'),
    ("    run: [{name: a.yaml, semaphores: {x: 1}}]\n", '"run.semaphores"'),
])
def test_bad_semaphore_forms_name_file_and_line(text: str, message: str) -> None:
    layout = site(project(APP, {".zuul.yaml": "- job:\n    name: x\n" + text}))
    (problem,) = errors(layout)
    assert problem.startswith(".zuul.yaml:3:") and message in problem, problem


def test_roles_accumulate_along_inheritance_with_the_implicit_roles() -> None:
    layout = site(project(APP, {".zuul.yaml": """\
- job:
    name: tox
    run: playbooks/tox.yaml
    roles:
      - zuul: org/zuul-jobs
- job:
    name: tox-py3
    parent: tox
    roles:
      - zuul: org/ansible-role-venv
        name: venv
      - zuul: org/app
        name: app-role
- project:
    check:
      jobs: [tox-py3]
"""}))
    assert errors(layout) == []
    job = freeze_job_graph(layout, project=APP, branch="main", pipeline="check").job("tox-py3")
    assert job.roles == (
        RoleRepo("config", "config", implicit=True),
        RoleRepo(APP, "app-role"),  # named explicitly: no longer only implicit
        RoleRepo("org/zuul-jobs", "zuul-jobs"),
        RoleRepo("org/ansible-role-venv", "venv"))
    assert implicit_role_name("org/ansible-role-venv") == "venv"
    assert implicit_role_name("x/openstack-ansible") == "openstack"


@pytest.mark.parametrize(("name", "candidates"), [
    ("openstack/nova", ("openstack/nova",)),
    ("opendev.org/openstack/nova", ("opendev.org/openstack/nova", "openstack/nova")),
    ("localhost/config", ("localhost/config", "config")),
    ("config", ("config",)),
    ("review.example.org/", ("review.example.org/",)),
])
def test_host_named_projects_also_mean_the_local_project(name: str,
                                                         candidates: tuple[str, ...]) -> None:
    assert project_name_candidates(name) == candidates


def test_the_old_name_override_branch_works_on_a_required_project() -> None:
    layout = site(project(APP, {".zuul.yaml": """- job:
    name: cross
    run: playbooks/cross.yaml
    required-projects:
      - name: org/lib
        override-branch: stable/1
      - name: org/other
        override-branch: stable/1
        override-checkout: stable/2
- project:
    check:
      jobs: [cross]
"""}))
    assert errors(layout) == []
    graph = freeze_job_graph(layout, project=APP, branch="main", pipeline="check")
    assert [(p.name, p.override_checkout) for p in graph.job("cross").required_projects] == [
        ("org/lib", "stable/1"), ("org/other", "stable/2")]
